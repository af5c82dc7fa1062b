"""Exception types raised by metaopt's public API.

Every error a user can cause with bad input derives from :class:`MetaoptError`,
so that the CLI can turn it into a one-line message and exit code 2, and API
users can catch one type.
"""

from __future__ import annotations


class MetaoptError(Exception):
    """Base class of every error metaopt raises on purpose."""


class DataError(MetaoptError, ValueError):
    """The data cannot be used (unreadable, empty, wrong shape, ...)."""


class DataFileError(DataError):
    """A data file is missing, unreadable, empty or not tabular."""


class TargetError(DataError):
    """The target column is unknown, all missing or has a single class."""


class KnowledgeBaseError(MetaoptError):
    """The knowledge base is missing, damaged or of a foreign schema."""


class ConfigError(MetaoptError, ValueError):
    """A learner, parameter or configuration is invalid."""


class StorageError(MetaoptError):
    """An Optuna storage cannot be used: a malformed or unknown URL, a missing database driver,
    a server that refuses the connection, a missing directory or a file that is not a database."""


# --- data-loading errors (all DataError, so the CLI maps them to exit code 2) -------------


class MissingFileError(DataFileError):
    """The data file does not exist."""


class EmptyDataError(DataFileError):
    """The file or table holds no data: 0 bytes, a header only, or no rows."""


class NotTabularError(DataFileError):
    """The file is not a table: binary junk, an image, JSON, or undetectable columns."""


class DuplicateColumnError(DataError):
    """Two or more columns share a name."""


class UnknownTargetError(TargetError):
    """The requested target column does not exist."""


class TargetMissingError(TargetError):
    """Every value of the target is missing."""


class SingleClassError(TargetError):
    """The target has a single distinct value (nothing to learn)."""


class TooFewRowsError(DataError):
    """Fewer rows with a target than the configured minimum."""


class GroupsError(DataError):
    """The ``groups`` of grouped cross-validation are unusable: unknown column, wrong length, missing values."""


class TimeOrderError(DataError):
    """The ``time_column`` of time-ordered cross-validation is unusable: unknown, not times, missing values."""


class NoFeaturesError(DataError):
    """No usable feature column is left (e.g. only an identifier and the target)."""


class OpenMLDataError(DataFileError):
    """An OpenML dataset or task is not in the local cache and cannot be downloaded, or its
    cached files are damaged."""
