"""The one in-memory form of a task that every later stage consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from metaopt.core import TASK_KINDS, TaskKind  # noqa: F401  (re-exported by metaopt.data)


@dataclass
class Dataset:
    """A supervised tabular task, as produced by :func:`metaopt.load_data`.

    Attributes
    ----------
    X : pandas.DataFrame
        Features. Numeric columns are ``float64`` (NaN = missing; inf kept as
        given), nominal columns are pandas ``category`` (NaN = missing), datetime
        columns already turned into numeric features. Unique, string column
        names.
    y : pandas.Series
        Target without missing values: ``category`` for classification,
        ``float64`` for regression. Same index as ``X``.
    kind : {"binary", "multiclass", "regression"}
        Task kind, inferred or given.
    name : str
        Short name (file stem, OpenML name, ...).
    target : str
        Name of the target column.
    dropped : dict
        Columns removed from the features, mapped to the reason: ``"id-like"``
        (see :mod:`metaopt.data._columns`), ``"openml-row-id"``, ``"openml-ignore"``.
        Constant and all-missing columns are kept (listed in ``notes``/``meta``).
    notes : list of str
        Human-readable remarks about the loading (constant columns found, rows
        with a missing target dropped, datetime columns expanded, ...).
    source : str or None
        Where the data came from (path, ``openml:<id>``, ``"DataFrame"``).
    openml_data_id, openml_task_id : int or None
        OpenML identifiers where known.
    meta : dict
        Machine-readable loading facts (all optional): ``format`` (file format),
        ``n_rows_raw`` (rows before dropping missing targets), ``n_missing_target``,
        ``n_infinite_target``, ``row_notes`` (the notes about dropped rows),
        ``kind_note`` (an integer-coded target inferred as regression),
        ``constant_columns``,
        ``all_missing_columns``, ``datetime_columns`` (original column -> generated
        columns), ``bool_columns``.
    groups : pandas.Series or None
        Group labels of the rows (``load_data(groups=...)``): rows of one group are
        never split between training and test folds. None: rows are independent.
    time_order : pandas.Series or None
        Sortable times of the rows (``load_data(time_column=...)``): folds are
        fitted on earlier rows and tested on later ones. None: no order.
    """

    X: pd.DataFrame
    y: pd.Series
    kind: TaskKind
    name: str = "data"
    target: str = "target"
    dropped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    source: str | None = None
    openml_data_id: int | None = None
    openml_task_id: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    groups: pd.Series | None = None
    time_order: pd.Series | None = None

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def essential_notes(self) -> list[str]:
        """The notes every front end shows, even when quiet: rows lost, or a kind the user may not mean."""
        kind_note = self.meta.get("kind_note")
        return [*self.meta.get("row_notes", []), *([kind_note] if kind_note else [])]

    @property
    def categorical_columns(self) -> list[str]:
        return [c for c in self.X.columns if isinstance(self.X[c].dtype, pd.CategoricalDtype)]

    @property
    def numeric_columns(self) -> list[str]:
        return [c for c in self.X.columns if not isinstance(self.X[c].dtype, pd.CategoricalDtype)]
