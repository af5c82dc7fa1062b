"""The shared vocabulary at the bottom of the layers: task kinds, metrics, the evaluation protocol.

Every other package may import from here; this package imports no other part of
metaopt.  The protocol is the one definition of how a configuration is scored
(folds, subsampling, metrics), so a tuned score and a KB score are comparable.
"""

from metaopt.core._kinds import TASK_KINDS, TaskKind
from metaopt.core._metrics import (ALL_METRICS, GREATER_IS_BETTER, KIND_METRICS, PRIMARY, TUNE_ALL_METRICS, TUNE_METRICS,
                                   aligned_proba, predictions, score_model, score_predictions, target_codes)
from metaopt.core._protocol import PreparedTask, Protocol, class_labels
from metaopt.core._version import __version__

__all__ = [
    "TASK_KINDS", "TaskKind", "ALL_METRICS", "GREATER_IS_BETTER", "KIND_METRICS", "PRIMARY", "TUNE_METRICS",
    "TUNE_ALL_METRICS", "aligned_proba", "predictions", "score_model", "score_predictions", "target_codes",
    "PreparedTask", "Protocol", "class_labels", "__version__",
]
