"""Helpers shared by every layer of metaopt: argument validation, usable cores, the process's start.

>>> import numbers
>>> from metaopt.utils import check_scalar
>>> check_scalar(5, "cv", numbers.Integral, min_val=2)
5
"""

from metaopt.utils._clock import process_started_at
from metaopt.utils._cores import usable_cores
from metaopt.utils._file_lock import file_lock
from metaopt.utils._validation import check_scalar

__all__ = ["check_scalar", "file_lock", "process_started_at", "usable_cores"]
