"""metaopt: meta-learned warm starts for hyperparameter optimisation.

Data flow: data loading -> meta-features -> knowledge base -> meta-model -> Optuna.
"""

from metaopt.core import __version__
from metaopt.data import Dataset, as_dataset, content_hash, load_data, read_frame
from metaopt.exceptions import (
    ConfigError,
    DataError,
    DataFileError,
    KnowledgeBaseError,
    MetaoptError,
    StorageError,
    TargetError,
)
from metaopt.features import GROUPS, MetaFeatures, extract_meta_features
from metaopt.recommender import Recommendation, recommend

__all__ = [
    "__version__",
    "Dataset",
    "load_data",
    "as_dataset",
    "read_frame",
    "content_hash",
    "extract_meta_features",
    "MetaFeatures",
    "GROUPS",
    "recommend",
    "Recommendation",
    "MetaoptError",
    "DataError",
    "DataFileError",
    "TargetError",
    "ConfigError",
    "KnowledgeBaseError",
    "StorageError",
]

# Optuna-facing parts import optuna; load them on first use so `import metaopt` stays light.
_LAZY = {
    "tune": "metaopt.tuning",
    "TuneResult": "metaopt.tuning",
    "load_model": "metaopt.tuning",
    "warm_start": "metaopt.warmstart",
    "MetaSampler": "metaopt.warmstart",
    "MetaTunedClassifier": "metaopt.estimators",
    "MetaTunedRegressor": "metaopt.estimators",
}
__all__ += list(_LAZY)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'metaopt' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
