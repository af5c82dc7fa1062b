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
