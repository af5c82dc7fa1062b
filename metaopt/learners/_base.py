"""The :class:`Learner` interface and the pieces every learner shares.

A learner bundles everything metaopt needs to know about one model family:
its search space (Optuna distributions in the estimator's own parameter
names), its library defaults, parameter validation and aliases, the estimator
constructor, the preprocessing it needs, how to fit it (early stopping, time
limit), its seeds of the shared configuration pool and how to read foreign
histories' parameter names.  Everything else in metaopt looks learners up in
the registry (:func:`metaopt.learners.get_learner`) instead of importing model
libraries or branching on a learner's name.  ``docs/learners.md`` says how to
add one.
"""

from __future__ import annotations

import abc
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from metaopt.core import TASK_KINDS
from metaopt.exceptions import ConfigError
from metaopt.learners._target import poisson_target

# model files pickled before the preprocessors had their own module name them here
from metaopt.learners._preprocess import EncodingPreprocessor, NativePreprocessor, _is_cat  # noqa: F401

KINDS: tuple[str, ...] = TASK_KINDS


# --------------------------------------------------------------------------- parameter specs
@dataclass(frozen=True)
class Param:
    """What values one constructor parameter accepts (used by ``validate_params``).

    ``type`` is ``"float"``, ``"int"``, ``"bool"`` or ``"choice"``; bounds are
    the hard limits the library accepts (wider than the search space).
    """

    type: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False          # low itself not allowed
    choices: tuple[Any, ...] = ()
    allow_none: bool = False
    kinds: tuple[str, ...] = KINDS  # task kinds where the value set applies (choices)
    choices_by_kind: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def check(self, name: str, value: Any, kind: str | None) -> Any:
        if value is None:
            if self.allow_none:
                return None
            raise ConfigError(f"parameter {name!r} must not be None")
        if self.type == "bool":
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            raise ConfigError(f"parameter {name!r} must be true or false, got {value!r}")
        if self.type == "choice":
            choices = self.choices_by_kind.get(kind, self.choices) if kind else self.choices
            if kind is None and self.choices_by_kind:
                choices = tuple(dict.fromkeys(sum(self.choices_by_kind.values(), ()) + self.choices))
            if isinstance(value, (float, np.floating)) and any(
                isinstance(c, (int, float)) and not isinstance(c, bool) for c in choices
            ):
                value = float(value)
            if not choices:
                raise ConfigError(f"parameter {name!r} does not apply to {kind} tasks")
            if value not in choices:
                extra = f" for {kind} tasks" if kind else ""
                raise ConfigError(f"parameter {name!r} must be one of {list(choices)}{extra}, got {value!r}")
            return value
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ConfigError(f"parameter {name!r} must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"parameter {name!r} must be finite, got {value!r}")
        if self.type == "int":
            if value != int(value):
                raise ConfigError(f"parameter {name!r} must be an integer, got {value!r}")
            value = int(value)
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            op = ">" if self.low_open else ">="
            raise ConfigError(f"parameter {name!r} must be {op} {self.low:g}, got {value!r}")
        if self.high is not None and value > self.high:
            raise ConfigError(f"parameter {name!r} must be <= {self.high:g}, got {value!r}")
        return value


# --------------------------------------------------------------------------- fitted model
@dataclass
class FittedModel:
    """A fitted learner: preprocessing + estimator, predicting original labels.

    ``classes_`` are the class labels (in the order of ``predict_proba``'s
    columns; only the classes seen in training).  ``n_estimators_used`` is the
    number of boosting rounds / trees actually used (best iteration under early
    stopping), ``timed_out`` whether the fit was cut by the time limit.
    """

    learner: str
    kind: str
    preprocessor: Any
    estimator: Any
    classes_: np.ndarray | None
    n_estimators_used: float | None = None
    timed_out: bool = False
    fit_time_s: float = 0.0
    early_stopping: bool = False

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        Z = self.preprocessor.transform(X)
        if self.kind == "regression":
            return np.asarray(self.estimator.predict(Z), dtype="float64")
        proba = self.predict_proba(X, _Z=Z)
        return np.asarray(self.classes_)[np.argmax(proba, axis=1)]

    def predict_proba(self, X: pd.DataFrame, _Z: Any = None) -> np.ndarray:
        if self.kind == "regression":
            raise ConfigError("predict_proba is only defined for classification")
        Z = self.preprocessor.transform(X) if _Z is None else _Z
        return np.asarray(self.estimator.predict_proba(Z), dtype="float64")


def encode_target(y: Any, kind: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Classification: (integer codes, labels); regression: (float64 values, None)."""
    if kind == "regression":
        return np.asarray(pd.to_numeric(pd.Series(y), errors="coerce"), dtype="float64"), None
    s = pd.Series(y)
    if not _is_cat(s):
        s = s.astype("category")
    return s.cat.codes.to_numpy(dtype="int64"), np.asarray(s.cat.categories)


def holdout_fraction(n_rows: int) -> float:
    """Inner validation share for early stopping (AutoGluon's ``default_holdout_frac``).

    ``max(0.1, min(0.2, 500 / n))`` below 5,000 rows, else
    ``max(0.01, min(0.1, 2500 / n))``.
    """
    if n_rows < 5000:
        return max(0.1, min(0.2, 500.0 / max(n_rows, 1)))
    return max(0.01, min(0.1, 2500.0 / n_rows))


#: a training fold must be able to grow at least this many leaves (caps minimum leaf sizes on small data)
MIN_LEAVES = 4


def training_rows(n_rows: int, cv: int = 5) -> int:
    """Rows of the largest training fold of ``cv``-fold cross-validation on ``n_rows`` rows."""
    return n_rows - n_rows // cv if cv > 1 else n_rows


def inner_split(y_codes: np.ndarray, kind: str, fraction: float, random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """Split row positions into (train, valid), stratified for classification when possible."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y_codes))
    n_valid = max(1, int(round(fraction * len(idx))))
    strat = None
    if kind != "regression":
        counts = np.bincount(y_codes[y_codes >= 0]) if len(y_codes) else np.array([])
        present = counts[counts > 0]
        if len(present) and present.min() >= 2 and n_valid >= len(present) and len(idx) - n_valid >= len(present):
            strat = y_codes
    tr, va = train_test_split(idx, test_size=n_valid, random_state=random_state, stratify=strat)
    return np.sort(tr), np.sort(va)




class Learner(abc.ABC):
    """One model family: everything metaopt knows about it, in one place.

    A new learner is a subclass plus one :func:`~metaopt.learners.register_learner` call
    (``docs/learners.md``, "Adding a learner").  It must set :attr:`name` and
    :attr:`id_prefix` and define the abstract methods; every other attribute and method
    has a default that suits a learner without aliases, foreign histories, published
    defaults or data-size limits.
    """

    #: registry key and the knowledge base's ``learner`` column
    name: ClassVar[str] = ""
    #: prefix of the pool's configuration ids (``lgbm-`` + 10 hex digits)
    id_prefix: ClassVar[str] = ""
    kinds: ClassVar[tuple[str, ...]] = KINDS
    #: parameters metaopt sets itself and a configuration may not contain
    reserved: ClassVar[tuple[str, ...]] = ("n_jobs", "random_state", "verbose", "verbosity")
    #: offered by ``recommend``/``tune`` without a ``kb``: the shipped knowledge base holds its pool results
    offered: ClassVar[bool] = True
    #: parameters where 0 means "off" and the (log-scale) search space starts just above 0 instead
    zero_is_low: ClassVar[tuple[str, ...]] = ()
    #: other spellings of parameter names, ``{alias: ours}`` (the library's native names): read where a
    #: user's names meet ours (importing an Optuna study, matching a study's search space)
    aliases: ClassVar[Mapping[str, str]] = {}
    #: foreign histories this learner can read: ``{source: {their name: ours}}`` (:meth:`from_foreign_params`)
    foreign_names: ClassVar[Mapping[str, Mapping[str, str]]] = {}
    #: ``{source: {their name: value}}``: values a source uses where its configurations leave a
    #: parameter unset, where they differ from :meth:`default_params`
    foreign_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    #: Sobol points of the shared configuration pool (after the default and :meth:`known_good_configs`)
    pool_sobol: ClassVar[int] = 32
    #: skewness above which a never-negative regression target gets the learner's Poisson loss, unless a
    #: configuration names its own (:meth:`fits_poisson`); None: the learner has no such loss
    poisson_min_skew: ClassVar[float | None] = None
    #: whether fits of one configuration differ by their ``random_state`` (bootstrap rows, random splits or
    #: feature draws, the early-stopping split): only then does averaging fits of several seeds change anything
    seeded: ClassVar[bool] = True

    # -- what every learner defines ------------------------------------------
    @abc.abstractmethod
    def param_specs(self) -> dict[str, Param]:
        """Every constructor parameter a configuration may set, with the values the library accepts."""

    @abc.abstractmethod
    def search_space(self, kind: str | None = None) -> dict[str, Any]:
        """Optuna distributions keyed by the estimator's own parameter names."""

    @abc.abstractmethod
    def default_params(self, kind: str | None = None) -> dict[str, Any]:
        """The library's default values of the search-space parameters (explicitly)."""

    @abc.abstractmethod
    def make_estimator(self, params: dict[str, Any], kind: str, random_state: int = 0) -> Any:
        """The unfitted estimator for validated ``params`` (single-threaded)."""

    @abc.abstractmethod
    def preprocess(self) -> Any:
        """A fresh, unfitted transformer with ``fit``/``transform`` (fit it on training rows)."""

    @abc.abstractmethod
    def fit_estimator(self, est: Any, Z: Any, y: np.ndarray, params: dict[str, Any], kind: str,
                      Z_valid: Any, y_valid: np.ndarray | None, time_limit_s: float | None,
                      random_state: int) -> tuple[Any, float | None, bool, bool]:
        """Fit ``est`` on preprocessed rows; returns (estimator, n_estimators_used, timed_out, early_stopping)."""

    # -- knowledge about the learner (override where there is some) ----------
    def refit_params(self, params: dict[str, Any], rounds: float | None) -> dict[str, Any]:
        """The configuration for ``tune``'s final fit on all rows, given the mean rounds early stopping chose
        in the search's folds (None where it did not stop early); a learner without early stopping keeps it."""
        return dict(params)

    def known_good_configs(self, kind: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Published configurations for the shared pool: ``[(params, provenance), ...]``.

        They follow the library default in every pool (origin ``known-good``; the
        provenance dict is stored as the configuration's ``native_params``).  None here.
        """
        return []

    def from_foreign_params(self, source: str, params: Mapping[str, Any], kind: str | None = None, *,
                            complete: bool = False) -> dict[str, Any]:
        """A configuration of a foreign history (``source``'s parameter names) in this learner's names.

        Parameters the configuration leaves unset take the source's own defaults
        (:attr:`foreign_defaults`); ``complete=True`` also writes out, at our defaults, every
        other parameter the source names.  The result is validated.  Raises
        :class:`~metaopt.exceptions.ConfigError` for a source this learner cannot read or a
        name without a mapping in :attr:`foreign_names`.
        """
        names = self.foreign_names.get(source)
        if names is None:
            raise ConfigError(f"learner {self.name!r} cannot read {source!r} histories "
                              f"(reads: {', '.join(sorted(self.foreign_names)) or 'none'})")
        theirs = {**self.foreign_defaults.get(source, {}), **params}
        unknown = sorted(set(theirs) - set(names))
        if unknown:
            raise ConfigError(f"{source} parameters {unknown} have no mapping to learner {self.name!r}")
        ours = {names[k]: v for k, v in theirs.items()}
        if complete:
            defaults = self.default_params(kind)
            ours = {**{n: defaults[n] for n in names.values() if n in defaults}, **ours}
        try:
            return self.validate_params(ours, kind)
        except ConfigError as exc:
            raise ConfigError(f"{source} configuration {dict(params)}: {exc}") from None

    # -- a configuration for one dataset (override where the learner needs it) ------------
    def model_width(self, X: Any) -> int:
        """Number of columns the estimator sees for the features ``X`` (after :meth:`preprocess`): an
        encoding preprocessor's width (one-hot columns counted; what a forest's ``max_features`` counts)."""
        pre = self.preprocess()
        if isinstance(pre, EncodingPreprocessor):
            return int(pre.fit(X).width_)
        return int(np.shape(X)[1])

    def into_space(self, params: dict[str, Any], kind: str | None = None,
                   n_features: int | None = None) -> dict[str, Any]:
        """``params`` with library spellings the search space cannot hold written as the equivalent value in it.

        Knowledge-base configurations use the library's own values (``reg_alpha=0``,
        ``max_features='sqrt'``); a warm start must enqueue them inside the search space.
        Here: a parameter of :attr:`zero_is_low` at 0 becomes the space's lower bound.
        """
        space = self.search_space(kind)
        out = dict(params)
        for name in self.zero_is_low:
            value, dist = out.get(name), space.get(name)
            if dist is not None and isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
                out[name] = dist.low
        return out

    def adapt_to_data(self, params: dict[str, Any], kind: str, n_rows: int, cv: int = 5) -> dict[str, Any]:
        """``params`` with data-size-dependent parameters capped for ``n_rows`` rows (``cv``-fold CV).

        The base learner has none; tree learners cap their minimum leaf sizes so that a
        training fold can still grow a few leaves.
        """
        return dict(params)

    def fits_poisson(self, y: Any, kind: str) -> bool:
        """Whether a fit on target ``y`` uses the Poisson loss by the target-shape rule (``_target.py``)."""
        return kind == "regression" and self.poisson_min_skew is not None and poisson_target(y, self.poisson_min_skew)

    def data_notes(self, X: pd.DataFrame, y: Any, kind: str) -> list[str]:
        """What this learner's fits decide from the data themselves, in words (``tune``'s summary says them).

        The base learner decides nothing; LightGBM and the forests choose their regression loss from the target.
        """
        return []

    def ready_params(self, params: dict[str, Any], kind: str, n_rows: int | None = None,
                     n_features: int | None = None, cv: int = 5) -> tuple[dict[str, Any], dict[str, tuple]]:
        """A configuration made ready for one dataset: (params, ``{name: (before, after)}`` of what changed).

        Validates, writes it inside the search space (:meth:`into_space`) and, with
        ``n_rows``, adapts it to the data size (:meth:`adapt_to_data`).
        """
        before = self.validate_params(params, kind)
        out = self.into_space(before, kind, n_features)
        if n_rows is not None:
            out = self.adapt_to_data(out, kind, int(n_rows), cv)
        changed = {k: (before.get(k), v) for k, v in out.items() if k not in before or before[k] != v}
        return out, changed

    # -- shared ------------------------------------------------------------
    def check_kind(self, kind: str) -> None:
        if kind not in self.kinds:
            raise ConfigError(f"learner {self.name!r} does not support {kind!r} tasks (supports {list(self.kinds)})")

    def validate_params(self, params: dict[str, Any] | None, kind: str | None = None) -> dict[str, Any]:
        """Check names and values; returns a cleaned copy (ints as int, bools as bool).

        Raises :class:`~metaopt.exceptions.ConfigError` on an unknown or reserved
        name or a value the estimator would not accept.
        """
        if params is None:
            return {}
        if not isinstance(params, dict):
            raise ConfigError(f"parameters of {self.name!r} must be a dict, got {type(params).__name__}")
        specs = self.__dict__.get("_specs")
        if specs is None:  # built once per instance: importers validate tens of thousands of runs
            specs = self.__dict__["_specs"] = self.param_specs()
        out: dict[str, Any] = {}
        for key, value in params.items():
            if key in self.reserved:
                raise ConfigError(f"parameter {key!r} of {self.name!r} is set by metaopt and may not be given")
            if key not in specs:
                known = ", ".join(sorted(specs))
                raise ConfigError(f"unknown parameter {key!r} for learner {self.name!r} (known: {known})")
            out[key] = specs[key].check(key, value, kind)
        return out

    def fit(self, X: pd.DataFrame, y: Any, params: dict[str, Any] | None, kind: str,
            X_valid: pd.DataFrame | None = None, y_valid: Any = None, *, random_state: int = 0,
            time_limit_s: float | None = None) -> FittedModel:
        """Preprocess (fitted on ``X``), build and fit the estimator.

        Early stopping (where the learner uses it) monitors ``X_valid``/``y_valid``
        when given, else an inner split of ``X``.  ``time_limit_s`` stops training
        past the limit where the library allows it (``FittedModel.timed_out``).
        """
        self.check_kind(kind)
        params = self.validate_params(params, kind)
        t0 = time.perf_counter()
        y_enc, labels = encode_target(y, kind)
        if labels is not None and y_valid is not None:
            # valid labels must use the training label coding
            ys = pd.Series(y_valid).astype(object)
            lut = {lab: i for i, lab in enumerate(labels)}
            y_valid_enc: np.ndarray | None = ys.map(lambda v: lut.get(v, -1)).to_numpy(dtype="int64")
        elif y_valid is not None:
            y_valid_enc = encode_target(y_valid, kind)[0]
        else:
            y_valid_enc = None
        pre = self.preprocess()
        Z = pre.fit_transform(X, y_enc)
        Z_valid = pre.transform(X_valid) if X_valid is not None else None
        if y_valid_enc is not None and labels is not None:
            keep = y_valid_enc >= 0
            if not keep.all():
                Z_valid = Z_valid[keep] if isinstance(Z_valid, np.ndarray) else Z_valid.iloc[keep]
                y_valid_enc = y_valid_enc[keep]
        est = self.make_estimator(params, kind, random_state)
        est, used, timed_out, es = self.fit_estimator(
            est, Z, y_enc, params, kind, Z_valid, y_valid_enc, time_limit_s, random_state)
        classes = None
        if labels is not None:
            classes = np.asarray(labels)[np.asarray(est.classes_, dtype="int64")]
        return FittedModel(learner=self.name, kind=kind, preprocessor=pre, estimator=est, classes_=classes,
                           n_estimators_used=used, timed_out=timed_out,
                           fit_time_s=time.perf_counter() - t0, early_stopping=es)

    def __repr__(self) -> str:
        return f"<Learner {self.name!r} kinds={list(self.kinds)}>"
