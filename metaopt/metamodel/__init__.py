"""Meta-models: from a KB's evaluations to the configurations to try first on a new task.

* :mod:`._normalise` - per-task normalised scores (:class:`ScoreMatrix`);
* :mod:`._feature_space` - the scaled meta-feature space and its NaN-aware distance;
* :mod:`._base` - the query, the candidate set and the :class:`MetaModel` interface;
* :mod:`._greedy` - greedy best-of-set selection, shared by every portfolio;
* :mod:`._neighbours` - nearest KB tasks (and the FLAML-style 1-NN baseline);
* :mod:`._surrogate` - LightGBM surrogate with a bootstrap ensemble;
* :mod:`._portfolio` - static and conditioned greedy portfolios;
* :mod:`._metaopt_model` - the model metaopt uses (:class:`MetaoptModel`);
* :mod:`._adaptive` - later warm-start picks that read the earlier picks' scores (:class:`AdaptiveModel`);
* :mod:`._auto_warm` - ``learner="auto"``'s warm start as ``tune`` runs it, one study per learner (LODO);
* :mod:`._fit_time` - fit-time prediction (:class:`FitTimeModel`);
* :mod:`._lodo` - leave-one-dataset-out evaluation and the meta-models it compares;
* :mod:`._splits` - how LODO splits the KB (by dataset group, by collection) and subsamples it;
* :mod:`._curve` - the learning curve (LODO regret against the share of training tasks);
* :mod:`._persist` - fitted meta-models on disk (JSON + arrays, no pickle).

See ``docs/metamodel.md``.
"""

from metaopt.metamodel._adaptive import ADAPTIVE_START, AdaptiveModel, next_key, next_pick
from metaopt.metamodel._auto_warm import AutoWarmStartModel
from metaopt.metamodel._base import MetaModel, Query, candidates
from metaopt.metamodel._feature_space import MetaFeatureSpace
from metaopt.metamodel._fit_time import FitTimeModel
from metaopt.metamodel._greedy import greedy_portfolio
from metaopt.metamodel._lodo import OneLearnerModel, lodo, lodo_methods, summarise
from metaopt.metamodel._splits import SPLITS, Fold, make_folds, sample_folds, subsample
from metaopt.metamodel._curve import curve_summary, learning_curve
from metaopt.metamodel._metaopt_model import MetaoptModel, blend_rank
from metaopt.metamodel._neighbours import FlamlNearest, NearestTasks
from metaopt.metamodel._normalise import ScoreMatrix, build_score_matrix, normalise_scores, pool_kind
from metaopt.metamodel._persist import cache_dir, cache_key, canonical, load_cached, save_cached
from metaopt.metamodel._portfolio import ConditionedPortfolio, StaticPortfolio
from metaopt.metamodel._surrogate import KIND_CODES, Surrogate

__all__ = ["ADAPTIVE_START", "AdaptiveModel", "AutoWarmStartModel", "next_key", "next_pick", "MetaModel", "Query", "candidates", "greedy_portfolio", "blend_rank", "lodo", "lodo_methods",
           "OneLearnerModel", "summarise", "SPLITS", "Fold", "make_folds", "sample_folds", "subsample", "learning_curve",
           "curve_summary", "FlamlNearest", "NearestTasks", "ScoreMatrix", "build_score_matrix",
           "normalise_scores", "pool_kind", "ConditionedPortfolio", "StaticPortfolio", "FitTimeModel",
           "MetaoptModel", "MetaFeatureSpace", "Surrogate", "KIND_CODES", "cache_dir", "cache_key", "canonical",
           "load_cached", "save_cached"]
