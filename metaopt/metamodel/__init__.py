"""Meta-models: from a KB's evaluations to the configurations to try first on a new task.

* :mod:`._normalise` - per-task normalised scores (:class:`ScoreMatrix`);
* :mod:`._space` - the scaled meta-feature space and its NaN-aware distance;
* :mod:`._neighbours` - nearest KB tasks (and the FLAML-style 1-NN baseline);
* :mod:`._surrogate` - LightGBM surrogate with a bootstrap ensemble;
* :mod:`._portfolio` - static and conditioned greedy portfolios;
* :mod:`._select` - the model metaopt uses, learner selection, fit-time prediction;
* :mod:`._lodo` - leave-one-dataset-out evaluation.

See ``docs/metamodel.md``.
"""

from metaopt.metamodel._base import MetaModel, Query, candidates, greedy_portfolio
from metaopt.metamodel._lodo import lodo, summarise
from metaopt.metamodel._neighbours import FlamlNearest, NearestTasks
from metaopt.metamodel._normalise import ScoreMatrix, build_score_matrix, normalise_scores
from metaopt.metamodel._portfolio import ConditionedPortfolio, StaticPortfolio
from metaopt.metamodel._select import FitTimeModel, MetaoptModel
from metaopt.metamodel._space import MetaFeatureSpace
from metaopt.metamodel._surrogate import Surrogate

__all__ = ["MetaModel", "Query", "candidates", "greedy_portfolio", "lodo", "summarise", "FlamlNearest",
           "NearestTasks", "ScoreMatrix", "build_score_matrix", "normalise_scores", "ConditionedPortfolio",
           "StaticPortfolio", "FitTimeModel", "MetaoptModel", "MetaFeatureSpace", "Surrogate"]
