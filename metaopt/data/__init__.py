"""Data loading: every input (file, frame, array, OpenML id) becomes a :class:`Dataset`."""

from metaopt.data._dataset import TASK_KINDS, Dataset, TaskKind
from metaopt.data._loader import as_dataset, load_data

__all__ = ["Dataset", "TaskKind", "TASK_KINDS", "load_data", "as_dataset"]
