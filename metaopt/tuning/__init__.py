"""Warm-started hyperparameter tuning: :func:`tune`, saved models, summaries.

>>> from metaopt.tuning import tune, load_model          # doctest: +SKIP
>>> result = tune("examples/data/credit-g.csv", target="class", n_trials=20)
>>> print(result.summary)
>>> result.save("model.joblib")
>>> load_model("model.joblib").predict(new_rows)

See :mod:`metaopt.tuning._tune` for the procedure (folds, metric, warm start,
pruning, failures, the library-default comparison) and
:mod:`metaopt.tuning._model` for the model file format.  **Model files are
pickles: load only files from a source you trust.**
"""

from metaopt.tuning._model import (
    MODEL_MARKER,
    ColumnSchema,
    ModelFileError,
    SchemaMismatchError,
    TunedModel,
    load_model,
)
from metaopt.tuning._summary import TuneSummary, format_summary
from metaopt.tuning._tune import FoldPruner, TuneResult, tune

__all__ = ["tune", "TuneResult", "FoldPruner", "TuneSummary", "format_summary", "TunedModel", "ColumnSchema", "load_model",
           "ModelFileError", "SchemaMismatchError", "MODEL_MARKER"]
