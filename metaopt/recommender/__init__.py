"""The recommender: which learner and configurations to try first, from one shared fitted meta-model.

:func:`recommend` is the public entry; :func:`get_recommender` is the one owner of
fitted meta-models (per KB content and learner set, cached in the process and on
disk), shared by recommend, :mod:`metaopt.warmstart` and ``MetaSampler``
(:func:`shared_surrogate`).  The ranking itself lives in :mod:`metaopt.metamodel`.
"""

from metaopt.recommender._cache import fit_seconds, get_recommender, load_kb_cached, shared_surrogate
from metaopt.recommender._recommend import QUERY_GROUPS, recommend
from metaopt.recommender._recommendation import Recommendation
from metaopt.recommender._recommender import Recommender

__all__ = ["QUERY_GROUPS", "Recommendation", "Recommender", "fit_seconds", "get_recommender", "load_kb_cached",
           "recommend", "shared_surrogate"]
