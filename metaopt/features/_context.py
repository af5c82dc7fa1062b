"""The prepared arrays that every meta-feature group reads.

Preparation (encoding, inf handling, subsampling) happens once here so that
each group module is a set of pure functions over arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from metaopt.data import Dataset


@dataclass
class Context:
    """Arrays derived from one :class:`~metaopt.data.Dataset`.

    Full-data attributes (``X``, ``y``) serve exact counts (the general
    group); ``num``/``cat``/``y_codes``/``y_num`` are on the row subsample
    ``rows`` (all rows unless the data exceed ``max_rows``).
    """

    dataset: Dataset
    kind: str
    random_state: int
    n_rows: int                      # rows in the full data (after dropping missing targets)
    rows: np.ndarray                 # indices (into the full data) of the subsample
    num: np.ndarray                  # float64 (m, p_num) numeric features on the sample; NaN = missing or inf
    num_names: list[str]
    cat: np.ndarray                  # int32 (m, p_cat) category codes on the sample; -1 = missing
    cat_names: list[str]
    cat_levels: np.ndarray           # int64 (p_cat,) declared number of levels per nominal column
    y_codes: np.ndarray | None       # int64 (m,) class codes 0..k-1 (classification) else None
    y_num: np.ndarray | None         # float64 (m,) target (regression) else None
    class_labels: list[str] = field(default_factory=list)
    n_classes: int = 0
    max_rows: int = 100_000          # the row budget the sample was drawn under
    cache: dict = field(default_factory=dict, repr=False)  # per-extraction scratch (column profiles)

    @property
    def n_sample(self) -> int:
        return int(self.rows.shape[0])

    @property
    def sampled(self) -> bool:
        return self.n_sample < self.n_rows

    def rng(self, salt: int = 0) -> np.random.Generator:
        """A generator that depends only on ``random_state`` and ``salt`` (determinism)."""
        return np.random.default_rng([self.random_state, salt])


def prepare(dataset: Dataset, random_state: int = 0, max_rows: int = 100_000) -> Context:
    """Encode ``dataset`` into arrays, subsampling to at most ``max_rows`` rows.

    Classification subsamples are stratified by class so rare classes survive.
    """
    X, y = dataset.X, dataset.y
    n = int(X.shape[0])
    rng = np.random.default_rng([random_state, 7919])
    if n > max_rows:
        if dataset.kind != "regression":
            codes = y.cat.codes.to_numpy()
            # stratified: sample the same fraction of every class, at least one each
            frac = max_rows / n
            parts = []
            for k in np.unique(codes):
                idx = np.flatnonzero(codes == k)
                take = max(1, int(round(frac * idx.size)))
                parts.append(rng.choice(idx, size=min(take, idx.size), replace=False))
            rows = np.sort(np.concatenate(parts))
        else:
            rows = np.sort(rng.choice(n, size=max_rows, replace=False))
    else:
        rows = np.arange(n)

    num_names = dataset.numeric_columns
    cat_names = dataset.categorical_columns
    if num_names:
        num = X[num_names].to_numpy(dtype="float64", na_value=np.nan)[rows]
        num[~np.isfinite(num)] = np.nan
    else:
        num = np.empty((rows.size, 0))
    if cat_names:
        cat = np.column_stack([X[c].cat.codes.to_numpy()[rows] for c in cat_names]).astype(np.int32)
        cat_levels = np.array([len(X[c].cat.categories) for c in cat_names], dtype=np.int64)
    else:
        cat = np.empty((rows.size, 0), dtype=np.int32)
        cat_levels = np.empty(0, dtype=np.int64)

    if dataset.kind == "regression":
        y_num = y.to_numpy(dtype="float64")[rows]
        y_codes, labels, k = None, [], 0
    else:
        ycat = y.cat.remove_unused_categories()
        y_codes = ycat.cat.codes.to_numpy().astype(np.int64)[rows]
        labels = [str(c) for c in ycat.cat.categories]
        y_num, k = None, len(labels)
    return Context(dataset=dataset, kind=dataset.kind, random_state=random_state, n_rows=n, rows=rows,
                   num=num, num_names=num_names, cat=cat, cat_names=cat_names, cat_levels=cat_levels,
                   y_codes=y_codes, y_num=y_num, class_labels=labels, n_classes=k, max_rows=max_rows)
