"""``extract_meta_features``: the group registry and the :class:`MetaFeatures` result."""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from metaopt.exceptions import ConfigError
from metaopt.features._context import Context, prepare
from metaopt.utils import check_scalar

GROUPS: tuple[str, ...] = ("general", "statistical", "info-theory", "landmarking", "metaopt")

# Cap on the cells (rows x columns) of the prepared sample: for very wide data the
# row budget shrinks so that the numeric matrix stays around 160 MB.
MAX_CELLS = 20_000_000
MIN_ROWS_WIDE = 2_000

# Names of the values that record the sampling (always present).
SAMPLING_NAMES = ("mo_SampleRows", "mo_SampleFraction")

# Groups whose values are exact on the full data (the rest use the row sample).
_FULL_DATA_GROUPS = {"general"}


def _general(ctx: Context) -> dict[str, float]:
    from metaopt.features._general import general
    return general(ctx)


def _statistical(ctx: Context) -> dict[str, float]:
    from metaopt.features._statistical import statistical
    return statistical(ctx)


def _infotheory(ctx: Context) -> dict[str, float]:
    from metaopt.features._infotheory import infotheory
    return infotheory(ctx)


def _landmarking(ctx: Context) -> dict[str, float]:
    from metaopt.features._landmarkers import landmarkers
    return landmarkers(ctx)


def _metaopt(ctx: Context) -> dict[str, float]:
    from metaopt.features._extra import extras
    from metaopt.features._landmarkers import gbm_landmarker
    out = extras(ctx)
    out.update(gbm_landmarker(ctx))
    return out


_REGISTRY: dict[str, Callable[[Context], dict[str, float]]] = {
    "general": _general,
    "statistical": _statistical,
    "info-theory": _infotheory,
    "landmarking": _landmarking,
    "metaopt": _metaopt,
}


@dataclass
class MetaFeatures:
    """Meta-features of one dataset.

    Attributes
    ----------
    values : dict[str, float]
        Quality name -> value; every value is a finite float or NaN (undefined).
    groups : dict[str, list[str]]
        Group -> the names it produced (plus ``"sampling"`` -> the sampling values).
    timings : dict[str, float]
        Seconds spent per group (``"prepare"`` = encoding and subsampling).
    sampling : dict
        ``n_rows`` (full data), ``sample_rows`` (rows of the sample),
        ``subsampled`` (bool), ``max_rows`` (effective row budget),
        ``random_state``, ``rows_per_group`` (rows each group used).
    """

    values: dict[str, float] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    sampling: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self):
        return iter(self.values)

    def to_dict(self) -> dict[str, float]:
        """A copy of :attr:`values`."""
        return dict(self.values)

    def to_series(self) -> pd.Series:
        """The values as a float64 Series indexed by name."""
        return pd.Series(self.values, dtype="float64", name="value")


def _resolve_groups(groups: str | Iterable[str]) -> list[str]:
    if isinstance(groups, str):
        groups = GROUPS if groups == "all" else (groups,)
    out: list[str] = []
    for g in groups:
        if g == "all":
            out.extend(x for x in GROUPS if x not in out)
            continue
        if g not in _REGISTRY:
            raise ConfigError(f"unknown meta-feature group {g!r}; choose from {', '.join(GROUPS)} or 'all'")
        if g not in out:
            out.append(g)
    return out


def _clean(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return f if math.isfinite(f) else float("nan")


def extract_meta_features(X: Any, y: Any = None, kind: str | None = None,
                          groups: str | Iterable[str] = ("general", "statistical", "info-theory",
                                                         "landmarking", "metaopt"),
                          random_state: int = 0, max_rows: int = 100_000,
                          target: str | None = None) -> MetaFeatures:
    """Compute meta-features (OpenML data qualities plus ``mo_`` extras) of a dataset.

    Parameters
    ----------
    X : Dataset, DataFrame or array
        The data. A :class:`~metaopt.data.Dataset` is used as is; anything else
        goes through :func:`metaopt.data.as_dataset` with ``y``/``target``/``kind``.
    y : array-like, optional
        Target values (or give ``target=`` naming a column of ``X``).
    kind : {"binary", "multiclass", "regression"}, optional
        Task kind; inferred when omitted.
    groups : str or iterable of str
        Any of :data:`GROUPS`, or ``"all"``. Unknown names raise
        :class:`~metaopt.exceptions.ConfigError`. A group whose module is not
        installed (landmarking while under construction) is skipped.
    random_state : int
        Seed of the row subsample and every randomised estimate; equal seeds give
        equal values.
    max_rows : int
        Row budget of the sample used by the non-general groups (classification
        samples are stratified). For very wide data the budget shrinks so that
        the sample has at most 20 million cells (never below 2,000 rows).
    target : str, optional
        Name of the target column when ``X`` is a frame containing it.
    """
    from metaopt.data import Dataset, as_dataset

    selected = _resolve_groups(groups)
    check_scalar(max_rows, "max_rows", numbers.Integral, min_val=1)
    if isinstance(X, Dataset):
        ds = X
    else:
        ds = as_dataset(X, y, target=target, kind=kind)

    t0 = time.perf_counter()
    n_cols = max(int(ds.X.shape[1]), 1)
    eff_rows = int(min(max_rows, max(MIN_ROWS_WIDE, MAX_CELLS // n_cols)))
    ctx = prepare(ds, random_state=random_state, max_rows=eff_rows)
    timings: dict[str, float] = {"prepare": time.perf_counter() - t0}

    values: dict[str, float] = {}
    names_by_group: dict[str, list[str]] = {}
    rows_per_group: dict[str, int] = {}
    for g in selected:
        t = time.perf_counter()
        res = _REGISTRY[g](ctx)
        timings[g] = time.perf_counter() - t
        names_by_group[g] = list(res)
        for k, v in res.items():
            values[k] = _clean(v)
        rows_per_group[g] = ctx.n_rows if g in _FULL_DATA_GROUPS else ctx.n_sample

    values["mo_SampleRows"] = float(ctx.n_sample)
    values["mo_SampleFraction"] = float(ctx.n_sample / ctx.n_rows) if ctx.n_rows else float("nan")
    names_by_group["sampling"] = list(SAMPLING_NAMES)
    sampling = {"n_rows": ctx.n_rows, "sample_rows": ctx.n_sample, "subsampled": ctx.sampled,
                "max_rows": eff_rows, "random_state": random_state, "rows_per_group": rows_per_group}
    return MetaFeatures(values=values, groups=names_by_group, timings=timings, sampling=sampling)
