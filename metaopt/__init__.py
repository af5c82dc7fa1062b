"""metaopt: meta-learned warm starts for hyperparameter optimisation.

Data flow: data loading -> meta-features -> knowledge base -> meta-model -> Optuna.
"""

from metaopt._version import __version__
from metaopt.data import Dataset, load_data
from metaopt.exceptions import DataError, KnowledgeBaseError, MetaoptError, TargetError

__all__ = ["__version__", "Dataset", "load_data", "MetaoptError", "DataError", "TargetError",
           "KnowledgeBaseError"]
