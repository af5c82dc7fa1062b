"""A fitted ensemble: weighted members that predict like one fitted learner.

It has the interface of :class:`metaopt.learners.FittedModel` (``predict``, ``predict_proba``,
``classes_``), so :class:`~metaopt.tuning.TunedModel`, ``metaopt predict`` and the estimators use it
unchanged.  Class probabilities are the weighted average of the members' probabilities aligned to
the task's classes; regression predictions the weighted average of the members' predictions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metaopt.core import aligned_proba


@dataclass
class Member:
    """One member: its fitted model(s) (several for a member kept as its fold models), its weight and
    where it came from (trial number or ``"default"``, learner, configuration, CV score)."""

    models: list[Any]
    weight: float
    source: Any
    learner: str
    params: dict[str, Any]
    cv_score: float | None

    def describe(self) -> dict[str, Any]:
        return {"trial": self.source, "learner": self.learner, "weight": round(self.weight, 4),
                "cv_score": self.cv_score, "params": self.params, "fits": len(self.models)}


@dataclass
class EnsembleFit:
    """The members and the task's classes (``None`` for regression)."""

    kind: str
    members: list[Member]
    classes_: np.ndarray | None = None
    mode: str = "refit"  #: "refit" (members refitted on all rows) or "folds" (each member's fold models)
    timed_out: bool = False
    n_estimators_used: float | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        parts = ", ".join(f"{m.learner} {m.source}: {m.weight:.2f}" for m in self.members)
        return f"EnsembleFit({self.kind}, {self.mode}; {parts})"

    def _weights(self) -> np.ndarray:
        w = np.asarray([m.weight for m in self.members], dtype="float64")
        return w / w.sum()

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        out = np.zeros((len(X), len(self.classes_)))
        for w, m in zip(self._weights(), self.members):
            out += w * np.mean([aligned_proba(f, X, self.classes_) for f in m.models], axis=0)
        return out

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self.kind != "regression":
            return np.asarray(self.classes_)[np.argmax(self.predict_proba(X), axis=1)]
        out = np.zeros(len(X))
        for w, m in zip(self._weights(), self.members):
            out += w * np.mean([np.asarray(f.predict(X), dtype="float64") for f in m.models], axis=0)
        return out
