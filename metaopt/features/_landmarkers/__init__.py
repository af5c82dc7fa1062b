"""Landmarking meta-features: the cross-validated scores of simple learners.

A small ML library of its own (pruned trees, naive Bayes, 1-NN, CFS, a GBM), one learner family
per module, because the values must follow Weka's definitions, which scikit-learn does not
implement.  Two entry points, both pure functions of a prepared
:class:`~metaopt.features._context.Context`:

* :func:`landmarkers` -- the meta-feature group ``"landmarking"``: OpenML's landmarkers
  (classification) plus metaopt's regression counterparts (:mod:`._landmarking`).
* :func:`gbm_landmarker` -- part of the group ``"metaopt"``: a small LightGBM model as a
  difficulty signal (:mod:`._boosting`).

Names
-----
Every name that OpenML computes is spelled exactly as OpenML spells it (``<Learner><Measure>``
with measure ``AUC``, ``ErrRate`` or ``Kappa``): ``DecisionStump``, ``NaiveBayes``, ``kNN1N``,
``J48.001.``, ``J48.0001.``, ``J48.00001.`` (note the trailing dot: ``J48.001.AUC``),
``REPTreeDepth1..3``, ``RandomTreeDepth1..3``, ``CfsSubsetEval_DecisionStump``,
``CfsSubsetEval_NaiveBayes``, ``CfsSubsetEval_kNN1N``.  Every value OpenML does *not* have is
prefixed ``mo_`` (one scheme for all of them): the linear-discriminant landmarker
``mo_LinearDiscriminant{AUC,ErrRate,Kappa}``, the regression landmarkers
``mo_<Learner>R2`` and ``mo_<Learner>NRMSE`` for ``DecisionStump``, ``RandomTreeDepth1..3``,
``REPTreeDepth1..3``, ``kNN1N`` and ``LinearRegression``, and the LightGBM values
``mo_LightGBM{AUC,ErrRate,Kappa,LogLoss,R2,NRMSE,Gain}``.

The key set is the same for every task kind, so a knowledge base has stable columns:
classification keys are NaN on regression tasks and regression keys are NaN on
classification tasks.  Every value is finite or NaN.

Protocol
--------
Like OpenML (``GenericLandmarker`` in ``openml/EvaluationEngine``: Weka
``Evaluation.crossValidateModel`` with **2 folds**), every landmarker is scored by stratified
2-fold cross-validation whose out-of-fold predictions are pooled before the measures
(:mod:`._measures`) are computed.  2 folds is what OpenML uses, and it is also the cheapest, so
there is no tension between speed and fidelity here.  Folds are built per class (round robin
over a shuffled class), so a class with a single member simply lands in one fold; a learner
whose training fold holds a single class predicts that class.  Everything is deterministic
through ``ctx.rng(...)`` and single-threaded.

Where and why the numbers differ from OpenML's (Weka) values
------------------------------------------------------------
Per learner: see the docstrings of :mod:`._trees` (DecisionStump, J48, REPTree, RandomTree),
:mod:`._naive_bayes`, :mod:`._nearest` (kNN1N) and :mod:`._cfs`.  For all of them:

* **Subsample.** OpenML uses all rows.  Here at most ``MAX_ROWS`` rows (stratified, every
  class kept; fewer for wide data, ``MAX_CELLS / columns`` but at least 2,000, and for more than
  ``MANY_CLASSES`` classes) and at most ``MAX_FEATURES`` input columns (a random subset) are
  used (:mod:`._data`), so that the group stays well below 2 s on 100k x 100 data.  Landmarkers
  such as 1-NN and deep trees improve with more rows, so on large data our error rates are a
  little higher (e.g. letter, 20,000 rows: our J48 error 0.37 on 5,000 rows).
* **Encoded width.** Trees, 1-NN and LDA see numerics plus one-hot nominals; when that would
  exceed ``MAX_WIDTH`` columns, each nominal keeps fewer (most frequent) levels, at least 2.
* **High-cardinality nominals** keep their ``MAX_LEVELS`` - 1 most frequent levels, the rest
  are merged into one "other" level.
* **Folds.** Same fold count (2) but different random assignment (Weka's ``Random(1)``
  shuffling cannot be reproduced), so values on small data differ by fold noise.

OpenML's own values are not consistent
--------------------------------------
OpenML's ``GenericLandmarker`` keeps one option array per landmarker and passes it to Weka's
``setOptions``, which blanks the options it consumes.  Within one evaluation-engine process the
options therefore only apply to the first dataset; later datasets get Weka's defaults.  The
stored qualities show this: in ``openml_pimp/task_qualities.json`` ``REPTreeDepth1ErrRate ==
REPTreeDepth3ErrRate`` on 59 of 99 tasks (and ``RandomTreeDepth1 == 3`` on 51, ``J48.001. ==
J48.00001.`` on 68, ``CfsSubsetEval_DecisionStump == CfsSubsetEval_NaiveBayes`` on 43), with
error rates far below what a depth-1 tree can reach (letter: 0.20).  On those datasets OpenML's
``REPTreeDepthN`` / ``RandomTreeDepthN`` are unlimited-depth trees, ``J48.*`` is J48 at
confidence 0.25 and every ``CfsSubsetEval_*`` is CFS followed by J48 (the default classifier
of ``AttributeSelectedClassifier``).  We compute what the names say (depth-limited trees,
the stated confidence factors, the stated classifier after CFS), which agrees with OpenML's
remaining ~40% of datasets (there ``REPTreeDepth1`` equals ``DecisionStump`` as expected) and
is the more informative, internally consistent choice.  DecisionStump, NaiveBayes and kNN1N
are unaffected and agree closely with OpenML (median |ErrRate difference| 0.002-0.008 on the
25-28 corpus datasets that match an OpenML task or LCDB dataset).
"""

from metaopt.features._landmarkers._boosting import GBM_NAMES, gbm_landmarker
from metaopt.features._landmarkers._landmarking import (
    CLASSIFICATION_LEARNERS,
    LANDMARKER_NAMES,
    REGRESSION_LEARNERS,
    landmarkers,
)

__all__ = ["landmarkers", "gbm_landmarker", "LANDMARKER_NAMES", "GBM_NAMES", "CLASSIFICATION_LEARNERS",
           "REGRESSION_LEARNERS"]
