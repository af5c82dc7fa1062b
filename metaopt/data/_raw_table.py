"""What every file reader returns (:class:`RawTable`) and the checks all formats share."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from metaopt.exceptions import DuplicateColumnError

#: compression suffixes and the codec each one names
COMPRESSION = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".xz": "xz"}


@dataclass
class RawTable:
    """A file's table before any target handling."""

    frame: pd.DataFrame
    format: str                                  # "csv", "arff", "parquet"
    name: str                                    # file stem (without .csv.gz etc.)
    default_target: str | None = None           # ARFF: last attribute; CSV: last column
    nominal: dict[str, list[str]] = field(default_factory=dict)   # declared ARFF levels
    dates: list[str] = field(default_factory=list)                # ARFF date attributes
    notes: list[str] = field(default_factory=list)


def file_stem(path: Path) -> str:
    """The file name without its format and compression suffixes (the default dataset name)."""
    name = path.name
    for suf in list(COMPRESSION):
        if name.lower().endswith(suf):
            name = name[: -len(suf)]
            break
    for suf in (".arff", ".csv", ".tsv", ".tab", ".txt", ".data", ".dat", ".parquet", ".pq"):
        if name.lower().endswith(suf):
            return name[: -len(suf)]
    return Path(name).stem or name


def check_unique(names: list[str], path: Path) -> None:
    """Raise :class:`DuplicateColumnError` when a column name repeats."""
    seen: dict[str, int] = {}
    dups = []
    for n in names:
        if n in seen and n not in dups:
            dups.append(n)
        seen[n] = seen.get(n, 0) + 1
    if dups:
        shown = ", ".join(repr(d) for d in dups[:5])
        raise DuplicateColumnError(f"{path.name} has duplicate column names ({shown}); rename them so "
                                   f"every column name is unique")
