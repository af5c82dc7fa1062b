"""File readers: bytes on disk -> a raw :class:`pandas.DataFrame` (no target handling).

The format is found from the suffix, else from the content; each format family has its module.

Formats
-------
* **CSV / TSV / delimited text** (``.csv``, ``.tsv``, ``.txt``, ``.data``, or any
  other suffix whose content looks delimited): :mod:`metaopt.data._csv`.
* **ARFF** (``.arff``): :mod:`metaopt.data._arff`.
* **Parquet** (``.parquet``, ``.pq``; detected by its ``PAR1`` magic bytes too).
* Any of the text formats compressed with gzip (``.gz``), bz2 (``.bz2``) or xz
  (``.xz``); gzip is also recognised by its magic bytes.

The path ``-`` is standard input (``... | metaopt predict model.joblib - > predictions.csv``), read once
per process and named ``stdin``; its format is found from the content.

Text encodings: UTF-8 (with or without BOM), UTF-16 with BOM; anything that is
not valid UTF-8 is decoded as latin-1 (and a note says so).

The frame returned by :func:`read_table` carries ARFF semantics already applied:
nominal attributes are ``category`` columns with their declared levels in
declaration order, numeric attributes ``float64``, date attributes
``datetime64``, string attributes ``str``.
"""

from __future__ import annotations

import bz2
import functools
import gzip
import io
import lzma
import sys
from pathlib import Path

import pandas as pd

from metaopt.data._arff import read_arff_text
from metaopt.data._csv import read_csv_text
from metaopt.data._raw_table import COMPRESSION, RawTable, check_unique, file_stem
from metaopt.exceptions import DataFileError, EmptyDataError, MissingFileError, NotTabularError

__all__ = ["RawTable", "read_table", "read_frame", "detect_format", "STDIN"]

#: the data path that means standard input
STDIN = "-"


@functools.cache  # once per process: a second read (e.g. the columns, then the data) finds it consumed
def _stdin_bytes() -> bytes:
    raw = sys.stdin.buffer.read()
    if not raw:
        raise EmptyDataError("standard input is empty (0 bytes); pipe a table with a header and data rows, "
                             "e.g. `cat new.csv | metaopt predict model.joblib -`")
    return raw


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise MissingFileError(f"data file not found: {path}; check the path")
    if path.is_dir():
        raise DataFileError(f"{path} is a directory, not a data file; pass a CSV, ARFF or Parquet file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataFileError(f"cannot read {path}: {exc.strerror or exc}; check its permissions") from exc
    if not raw:
        raise EmptyDataError(f"{path} is empty (0 bytes); pass a file with a header and data rows")
    return _decompressed(raw, path)


def _decompressed(raw: bytes, path: Path) -> bytes:
    comp = COMPRESSION.get(path.suffix.lower())
    if comp is None and raw[:2] == b"\x1f\x8b":
        comp = "gzip"
    if comp is not None:
        try:
            raw = {"gzip": gzip.decompress, "bz2": bz2.decompress, "xz": lzma.decompress}[comp](raw)
        except Exception as exc:  # OSError, EOFError, zlib.error, lzma.LZMAError, ...
            raise DataFileError(f"{path} is not a valid {comp} file ({exc}); re-compress or "
                                f"decompress it") from exc
        if not raw:
            raise EmptyDataError(f"{path} is empty after decompression; pass a file with data rows")
    return raw


_MAGIC = [
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a zip archive (e.g. an Excel .xlsx workbook)"),
    (b"\x7fELF", "an executable"), (b"\xd0\xcf\x11\xe0", "an old Excel/Office document"),
    (b"SQLite format 3", "an SQLite database"), (b"BZh", "bz2 data"), (b"\xfd7zXZ", "xz data"),
]


def _decode(raw: bytes, path: Path, notes: list[str]) -> str:
    for magic, what in _MAGIC:
        if raw.startswith(magic):
            raise NotTabularError(f"{path} looks like {what}, not a table; export the data as CSV, "
                                  f"ARFF or Parquet")
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise NotTabularError(f"{path} has a UTF-16 mark but is not valid UTF-16; save it as "
                                  f"UTF-8 CSV") from exc
    head = raw[:65536]
    if b"\x00" in head:
        raise NotTabularError(f"{path} is a binary file (contains NUL bytes), not a table; pass a "
                              f"CSV, ARFF or Parquet file")
    ctrl = sum(1 for b in head if b < 32 and b not in (9, 10, 13, 12))
    if ctrl > max(8, len(head) // 100):
        raise NotTabularError(f"{path} looks like binary data, not a table; pass a CSV, ARFF or "
                              f"Parquet file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        notes.append(f"{path.name} is not valid UTF-8: decoded as latin-1")
        return raw.decode("latin-1")


def detect_format(path: Path, raw: bytes | None = None) -> str:
    """``"arff"``, ``"parquet"`` or ``"csv"`` from the suffix, else from the content."""
    name = path.name.lower()
    for suf in COMPRESSION:
        if name.endswith(suf):
            name = name[: -len(suf)]
    if name.endswith(".arff"):
        return "arff"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if raw is not None:
        if raw[:4] == b"PAR1":
            return "parquet"
        text = raw[:4096].decode("latin-1").lstrip("\ufeff\xef\xbb\xbf \t\r\n")
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("%")]
        if lines and lines[0].lower().startswith(("@relation", "@attribute")):
            return "arff"
    if name.endswith(".json"):
        return "json"
    return "csv"


# --------------------------------------------------------------------------- Parquet


def _read_parquet(raw: bytes, path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(io.BytesIO(raw))
    except Exception as exc:  # pyarrow raises several types
        raise NotTabularError(f"{path} could not be read as Parquet ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''}); check the file") from exc
    if frame.shape[1] == 0:
        raise EmptyDataError(f"{path} has no columns; pass a table with feature and target columns")
    if frame.shape[0] == 0:
        raise EmptyDataError(f"{path} has columns but no rows; add data rows")
    if isinstance(frame.index, pd.RangeIndex) is False and frame.index.name is not None:
        frame = frame.reset_index()
    frame.columns = [str(c) for c in frame.columns]
    check_unique(list(frame.columns), path)
    return frame.reset_index(drop=True)


# --------------------------------------------------------------------------- entry points


def read_table(path: str | Path, *, fast_arff: bool = True, text_columns: tuple[str, ...] = ()) -> RawTable:
    """Read any supported file into a :class:`RawTable` (``text_columns``: see :func:`read_frame`)."""
    path = Path(path).expanduser()
    if str(path) == STDIN:
        path = Path("stdin")  # its name in messages and summaries
        raw = _decompressed(_stdin_bytes(), path)
    else:
        raw = _read_bytes(path)
    fmt = detect_format(path, raw)
    notes: list[str] = []
    if fmt == "parquet":
        frame = _read_parquet(raw, path)
        return RawTable(frame=frame, format="parquet", name=file_stem(path),
                        default_target=str(frame.columns[-1]), notes=notes)
    text = _decode(raw, path, notes)
    if fmt == "json":
        raise NotTabularError(f"{path} is a JSON file, not a table; convert it to CSV")
    if fmt == "arff":
        return read_arff_text(text, path, notes, fast=fast_arff)
    frame = read_csv_text(text, path, notes, text_columns=tuple(text_columns))
    return RawTable(frame=frame, format="csv", name=file_stem(path),
                    default_target=str(frame.columns[-1]), notes=notes)


def read_frame(path: str | Path, *, text_columns: tuple[str, ...] | list[str] = ()) -> pd.DataFrame:
    """Read a CSV/TSV/ARFF/Parquet file (optionally compressed) into a raw DataFrame.

    No target handling and no feature processing: ARFF nominal attributes are
    ``category`` columns with their declared levels, dates ``datetime64``. The
    frame's ``attrs["default_target"]`` holds the file's default target (last
    attribute / column) and ``attrs["format"]`` the detected format.
    ``text_columns`` (delimited text only) are read as text verbatim, so that
    identifiers such as ``007`` keep their leading zeros.
    """
    table = read_table(path, text_columns=tuple(text_columns))
    frame = table.frame
    frame.attrs["default_target"] = table.default_target
    frame.attrs["format"] = table.format
    frame.attrs["name"] = table.name
    return frame
