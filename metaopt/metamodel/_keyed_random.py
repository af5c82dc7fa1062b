"""Random draws keyed by task and configuration ids: a KB that grows keeps the draws it had.

The surrogate subsamples its training rows and bootstraps its tasks.  Drawn from one
sequential RNG, every draw depends on how many rows came before it, so adding one
task to the KB reshuffles every row every model sees, and a merge cannot be told
apart from a reseed (docs/knowledge_base.md).  Here each draw is a hash of the ids it
is about plus a salt (the seed, the model number): an id keeps its draw whatever else
the KB holds.  NumPy's generators draw sequences, not values keyed by an id, hence
this small module (splitmix64 as the mixer, blake2b to turn ids into 64 bits).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

_U64 = np.uint64


def id_hashes(ids: Iterable[object]) -> np.ndarray:
    """64-bit hash of each id's text (``uint64``), the same in every process and Python version."""
    return np.array([int.from_bytes(hashlib.blake2b(str(i).encode(), digest_size=8).digest(), "little")
                     for i in ids], dtype=np.uint64)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit changes about half the output bits."""
    x = np.asarray(x, dtype=np.uint64) + _U64(0x9E3779B97F4A7C15)  # arrays wrap silently on overflow
    x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
    return x ^ (x >> _U64(31))


def keyed_uniform(*hashes: np.ndarray, salt: Iterable[int] = ()) -> np.ndarray:
    """Uniform [0, 1) draws, one per element of the (broadcast) ``hashes``, fixed by them and ``salt``."""
    h = np.zeros(1, dtype=np.uint64)
    for s in salt:
        h = _mix(h ^ np.asarray([s], dtype=np.int64).astype(np.uint64))
    for k in hashes:
        h = _mix(h ^ np.asarray(k, dtype=np.uint64))
    return (h >> _U64(11)).astype(np.float64) * 2.0 ** -53


def keep_smallest(u: np.ndarray, n: int) -> np.ndarray:
    """Sorted positions of the ``n`` smallest draws: adding elements only ever drops old ones, never swaps."""
    if len(u) <= n:
        return np.arange(len(u))
    return np.sort(np.argpartition(u, n - 1)[:n])


def poisson_counts(u: np.ndarray) -> np.ndarray:
    """Poisson(1) counts from uniform draws: the keyed form of a bootstrap (each unit drawn ~Poisson(1) times)."""
    from scipy.stats import poisson

    return np.maximum(poisson.ppf(u, 1.0), 0).astype(np.int64)  # scipy's ppf(0) is -1, the support's edge
