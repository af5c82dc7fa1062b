"""What :func:`metaopt.recommend` returns: one configuration to try, with its expectations and reasons."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass
class Recommendation:
    """One configuration to try, with what metaopt expects of it and why."""

    rank: int
    learner: str
    config_id: str
    params: dict[str, Any]
    predicted_score: float
    predicted_score_std: float
    predicted_fit_time_s: float | None
    similar_tasks: list[dict[str, Any]] = field(default_factory=list)
    rationale: str = ""
    far_from_kb: bool = False
    #: why it sits at this rank, in a few words (the table's "why" column; ``rationale`` says it in full)
    reason: str = ""
    #: parameters changed from the KB configuration for this dataset: ``{name: (KB value, value here)}``
    adapted: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    #: its mean score on a few folds of this dataset (the kind's primary metric), where ``probe`` tried it
    probe_score: float | None = None
    #: the study it comes from where it is a trial of your own study on this table (``kb add-study``)
    own_study: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("predicted_score", "predicted_score_std", "predicted_fit_time_s", "probe_score"):
            v = d[key]
            d[key] = None if v is None or not np.isfinite(v) else round(float(v), 6)
        return d
