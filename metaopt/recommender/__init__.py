"""The recommender: which learner and configurations to try first, from one shared fitted meta-model.

:func:`recommend` is the public entry; :func:`get_recommender` is the one owner of
fitted meta-models (per KB content and learner set, cached in the process and on
disk), shared by recommend, :mod:`metaopt.warmstart` and ``MetaSampler``
(:func:`shared_surrogate`).  The ranking itself lives in :mod:`metaopt.metamodel`.
With a time budget, :func:`learner_reaches` / :func:`choose_learner` weigh learners by what
they reach in it and :func:`order_for_budget` orders configurations by value per second.
:func:`probe_first` cross-validates the first recommendations on the task itself and orders them by that.
:func:`own_first` puts the user's own trials on an earlier version of the table first (:func:`own_trial`).
"""

from metaopt.recommender._cache import (fit_allowance, fit_seconds, get_recommender, load_kb_cached, meta_model_fits,
                                       peek_recommender, prefit, shared_surrogate)
from metaopt.recommender._cost import (HORIZON, LearnerReach, TaskProfile, choose_learner, learner_reaches,
                                       order_for_budget, trial_seconds)
from metaopt.recommender._own import own_first, own_trial
from metaopt.recommender._probe import PROBE_FOLDS, probe_first, probe_order, probe_scores, probes_portfolio
from metaopt.recommender._recommend import QUERY_GROUPS, recommend
from metaopt.recommender._recommendation import Recommendation
from metaopt.recommender._recommender import Recommender

__all__ = ["HORIZON", "PROBE_FOLDS", "QUERY_GROUPS", "LearnerReach", "Recommendation", "Recommender", "TaskProfile",
           "choose_learner", "fit_allowance", "fit_seconds", "get_recommender", "learner_reaches", "load_kb_cached",
           "meta_model_fits", "order_for_budget", "own_first", "own_trial", "peek_recommender", "prefit",
           "probe_first", "probe_order", "probe_scores", "probes_portfolio", "recommend", "shared_surrogate",
           "trial_seconds"]
