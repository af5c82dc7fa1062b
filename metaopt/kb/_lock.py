"""Writers of one knowledge base take turns.

``kb add-study`` and ``kb merge`` read a KB, merge into it and save it. Two at once each saved its own
merge, and the first one's addition was lost although both reported success. Each now reads, merges and
saves under an exclusive lock on a file next to the KB's directory (``.<name>.metaopt.lock``; next to it,
not in it, so that a KB directory that does not exist yet can be locked too).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from metaopt.utils import file_lock


@contextlib.contextmanager
def writing(path: str | os.PathLike) -> Iterator[Path]:
    """Hold the write lock of the KB directory ``path``; yields the path."""
    root = Path(path).expanduser().absolute()
    root.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(str(root.parent / f".{root.name}.metaopt.lock")):
        yield root
