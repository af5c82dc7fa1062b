"""Warm-started hyperparameter tuning: :func:`tune`, saved models, summaries.

>>> from metaopt.tuning import tune, load_model          # doctest: +SKIP
>>> result = tune("examples/data/credit-g.csv", target="class", n_trials=20)
>>> print(result.summary)
>>> result.save("model.joblib")
>>> load_model("model.joblib").predict(new_rows)

``docs/tuning.md`` describes the procedure (folds, metric, warm start,
pruning, failures, the library-default comparison, workers) and
:mod:`metaopt.tuning._model` the model file format.  **Model files are
pickles: load only files from a source you trust.**
"""

from metaopt.tuning._checks import DEFAULT_TRIALS, check_arguments, check_metric, resolve_trials
from metaopt.tuning._earlier import earlier_best
from metaopt.tuning._model import (
    MODEL_MARKER,
    ColumnSchema,
    ModelFileError,
    SchemaMismatchError,
    TunedModel,
    check_output_path,
    load_model,
)
from metaopt.tuning._pruner import FoldPruner
from metaopt.tuning._result import TuneResult
from metaopt.tuning._storage import open_storage, storage_label
from metaopt.tuning._summary import TuneSummary, format_summary
from metaopt.tuning._study import check_study_data, recorded_setup
from metaopt.tuning._tune import check_data, tune

__all__ = ["tune", "TuneResult", "FoldPruner", "TuneSummary", "format_summary", "TunedModel", "ColumnSchema",
           "load_model", "ModelFileError", "SchemaMismatchError", "MODEL_MARKER",
           # for ``metaopt tune`` and ``metaopt kb add-study``: checks before any work, the one storage opener
           "check_data", "check_output_path", "open_storage", "storage_label", "DEFAULT_TRIALS",
           "resolve_trials", "check_arguments", "check_metric", "recorded_setup", "check_study_data",
           # for ``recommend(storage=...)``: the best trials of the storage's studies on a table
           "earlier_best"]
