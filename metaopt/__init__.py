"""metaopt: meta-learned warm starts for hyperparameter optimisation.

Data flow: data loading -> meta-features -> knowledge base -> meta-model -> Optuna.
"""

from metaopt._recommend import Recommendation, recommend
from metaopt._version import __version__
from metaopt.data import Dataset, as_dataset, content_hash, load_data, read_frame
from metaopt.exceptions import (
    ConfigError,
    DataError,
    DataFileError,
    KnowledgeBaseError,
    MetaoptError,
    TargetError,
)
from metaopt.features import GROUPS, MetaFeatures, extract_meta_features

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
]
