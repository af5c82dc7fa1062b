"""CSV / TSV / delimited text -> a raw frame, with the delimiter and the header detected.

Files come from many tools (Excel, R, UCI ``.data`` files), so nothing is assumed: the
delimiter is detected from the first lines (``,``, ``\\t``, ``;``, ``|``, else runs of
spaces; :class:`csv.Sniffer` as a last resort). The first row is the header, unless every
field of it is a number: then there is no header and columns are named ``V1 .. Vn``. Missing
values: empty fields, pandas' default NA strings (``NA``, ``NaN``, ``null``, ...) and ``?``
(UCI/ARFF convention). Columns written with a decimal comma (only in files not delimited by
commas) become numbers.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from metaopt.data._raw_table import check_unique
from metaopt.exceptions import EmptyDataError, NotTabularError

__all__ = ["read_csv_text", "NA_VALUES"]

#: Strings read as missing in delimited text files (pandas' defaults plus ``?``).
NA_VALUES = ["", "?", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "NULL", "null", "None",
             "<NA>", "#N/A", "#NA", "-1.#IND", "-1.#QNAN", "1.#IND", "1.#QNAN"]

_CANDIDATES = [",", "\t", ";", "|"]


def _strip_quoted(line: str) -> str:
    return re.sub(r'"(?:[^"]|"")*"', '""', line)


def _sniff_delimiter(lines: list[str]) -> str | None:
    """The delimiter whose count is the same non-zero number on (almost) every line."""
    sample = [_strip_quoted(ln) for ln in lines[:200]]
    best, best_score = None, 0.0
    for d in _CANDIDATES:
        counts = [ln.count(d) for ln in sample]
        if not counts or max(counts) == 0:
            continue
        vals, freq = np.unique(counts, return_counts=True)
        mode = int(vals[np.argmax(freq)])
        if mode == 0:
            continue
        share = float(freq.max()) / len(counts)
        score = share * (1 + 0.01 * mode)
        if share >= 0.9 and score > best_score:
            best, best_score = d, score
    if best is not None:
        return best
    # runs of whitespace (UCI .data files)
    ws = [len(ln.split()) for ln in sample]
    if ws and min(ws) > 1 and max(ws) == min(ws):
        return r"\s+"
    try:
        return csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=",\t;| :").delimiter
    except csv.Error:
        return None


def _single_column(lines: list[str]) -> bool:
    """Whether the lines hold one column: no candidate delimiter and no inner blank on any line.

    (Prose also has no delimiter, but has blanks between words; it stays "not a table".)
    """
    sample = [_strip_quoted(ln).strip() for ln in lines]
    return bool(sample) and not any(d in ln for ln in sample for d in (*_CANDIDATES, " ", ":"))


def _is_number(tok: str) -> bool:
    tok = tok.strip().strip('"').strip("'")
    if not tok:
        return False
    try:
        float(tok)
    except ValueError:
        return False
    return True


def read_csv_text(text: str, path: Path, notes: list[str], sep: str | None = None,
                  text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Parse delimited text (header row expected) into a frame; ``text_columns`` stay verbatim text."""
    stripped = text.lstrip()
    if not stripped:
        raise EmptyDataError(f"{path} contains only whitespace; pass a file with a header and data rows")
    if stripped[0] in "{[":
        try:
            json.loads(stripped)
            what = "JSON"
        except ValueError:
            what = "JSON-like text"
        raise NotTabularError(f"{path} looks like {what}, not a delimited table; convert it to CSV "
                              f"(e.g. pandas.read_json(...).to_csv(...))")
    if stripped[0] == "<":
        raise NotTabularError(f"{path} looks like HTML/XML, not a delimited table; export the data "
                              f"as CSV")
    lines = [ln for ln in text.splitlines() if ln.strip()][:300]
    if sep is None:
        if path.suffix.lower() in (".tsv", ".tab") or path.name.lower().endswith((".tsv.gz", ".tab.gz")):
            sep = "\t"
        else:
            sep = _sniff_delimiter(lines)
    single = sep is None and _single_column(lines)
    if single:  # e.g. only the target column: the loader then says "no feature columns"
        sep = ","
    if sep is None:
        raise NotTabularError(f"could not detect the column delimiter of {path}; pass a comma-, tab- "
                              f"or semicolon-separated file with a header row")
    first = lines[0]
    if sep == r"\s+":
        header_fields = first.split()
    else:
        header_fields = next(csv.reader([first], delimiter=sep))
    no_header = all(_is_number(f) for f in header_fields)
    if no_header:
        names = [f"V{i + 1}" for i in range(len(header_fields))]
        notes.append(f"{path.name}: the first row is all numbers, read as data (columns V1..V{len(names)})")
    else:
        # an empty header field (an index written by pandas/R, a trailing delimiter) gets
        # pandas' usual name "Unnamed: <position>"
        names = [h.strip() or f"Unnamed: {i}" for i, h in enumerate(header_fields)]
        check_unique(names, path)
    if len(names) < 2 and not single:
        raise NotTabularError(f"{path} has a single column (delimiter not detected or only one field); "
                              f"a supervised table needs feature columns and a target")
    if len(lines) < 2 and not no_header:
        raise EmptyDataError(f"{path} has a header but no data rows; add data rows")
    kw = dict(sep=sep, na_values=NA_VALUES, keep_default_na=False, skipinitialspace=True,
              engine="c", low_memory=False, dtype={c: str for c in text_columns if c in names} or None)
    try:
        frame = pd.read_csv(io.StringIO(text), header=None if no_header else 0,
                            names=names, skiprows=None, index_col=False, **kw)
    except pd.errors.EmptyDataError as exc:
        raise EmptyDataError(f"{path} has no data rows; add data rows") from exc
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise NotTabularError(f"{path} is not a well-formed delimited table ({msg}); check the "
                              f"delimiter and quoting") from exc
    if frame.shape[0] == 0:
        raise EmptyDataError(f"{path} has a header but no data rows; add data rows")
    frame.columns = [str(c) for c in frame.columns]
    if sep != ",":
        frame = _decimal_commas(frame, path, notes)
    return frame


_DECIMAL_COMMA = re.compile(r"[-+]?\d*,\d+(?:[eE][-+]?\d+)?|[-+]?\d+")


def _decimal_commas(frame: pd.DataFrame, path: Path, notes: list[str]) -> pd.DataFrame:
    """Columns written with a decimal comma (``1,5``; only in non-comma files) -> float64."""
    converted = []
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_numeric_dtype(s.dtype) or not pd.api.types.is_string_dtype(s.dtype):
            continue
        uniq = pd.Series(pd.unique(s.dropna().astype("str").str.strip()))
        if uniq.empty or not uniq.str.contains(",", regex=False).any():
            continue
        if uniq.str.fullmatch(_DECIMAL_COMMA).all():
            frame[col] = pd.to_numeric(s.astype("str").str.strip().str.replace(",", ".", regex=False)
                                       .where(s.notna()), errors="coerce").astype("float64")
            converted.append(col)
    if converted:
        notes.append(f"{path.name}: decimal commas read as numbers in {', '.join(converted)}")
    return frame
