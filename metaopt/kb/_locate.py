"""Where the shipped knowledge base is found (``KnowledgeBase.load()`` without a path).

First hit wins:

1. the environment variable ``METAOPT_KB`` (a directory);
2. ``<repository>/metadata`` next to the ``metaopt`` package (source checkout and
   editable installs);
3. ``<prefix>/share/metaopt/metadata`` for ``sys.prefix``, the ``data`` install path
   and the user base (a wheel installed with ``[tool.setuptools.data-files]``).

A directory counts only if it holds a ``manifest.json``.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
from pathlib import Path

from metaopt.exceptions import KnowledgeBaseError
from metaopt.kb import _schema as S

_ENV_VAR = "METAOPT_KB"


def _candidate_paths() -> list[Path]:
    import metaopt

    pkg = Path(metaopt.__file__).resolve().parent
    out = [pkg.parent / "metadata"]
    prefixes = [sys.prefix, sysconfig.get_paths().get("data", sys.prefix)]
    try:
        prefixes.append(site.getuserbase())
    except Exception:  # pragma: no cover - site without user base
        pass
    for prefix in prefixes:
        p = Path(prefix) / "share" / "metaopt" / "metadata"
        if p not in out:
            out.append(p)
    return out


def default_kb_path() -> Path:
    """The directory of the shipped (or ``METAOPT_KB``-selected) knowledge base."""
    env = os.environ.get(_ENV_VAR)
    if env:
        return Path(env).expanduser()
    for cand in _candidate_paths():
        if (cand / S.MANIFEST_FILE).is_file():
            return cand
    raise KnowledgeBaseError(
        "no knowledge base found: set METAOPT_KB=<dir> or pass a path; looked in "
        + ", ".join(str(p) for p in _candidate_paths()))
