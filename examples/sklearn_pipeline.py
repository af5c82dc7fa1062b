"""MetaTunedClassifier inside a scikit-learn Pipeline, scored by cross_val_score.

Each outer fold runs its own warm-started search (inner 3-fold CV, a few trials) on its training
part only, so the outer scores are an honest estimate of "tune with metaopt, then predict".

    python examples/sklearn_pipeline.py
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from metaopt.estimators import MetaTunedClassifier

df = pd.read_csv(Path(__file__).parent / "data" / "credit-g.csv")
X, y = df.drop(columns=["class"]), df["class"]

# Numeric columns are scaled (trees do not need it; it shows a transformer in front), text columns
# pass through as pandas categories: MetaTunedClassifier keeps a DataFrame's nominal columns.
preprocess = make_column_transformer(
    (StandardScaler(), make_column_selector(dtype_include="number")),
    (FunctionTransformer(lambda frame: frame.astype("category"), feature_names_out="one-to-one"),
     make_column_selector(dtype_exclude="number")),
    verbose_feature_names_out=False,
).set_output(transform="pandas")

pipe = make_pipeline(preprocess, MetaTunedClassifier(n_trials=8, cv=3, random_state=0))
scores = cross_val_score(pipe, X, y, cv=5, scoring="roc_auc")
print(f"ROC AUC per outer fold: {', '.join(f'{s:.3f}' for s in scores)}")
print(f"mean {scores.mean():.3f} +- {scores.std():.3f}")

pipe.fit(X, y)
clf = pipe[-1]
print(f"\nfinal model: {clf.learner_}, inner CV {clf.metric_} {clf.best_score_:.4f}, "
      f"library default {clf.summary_['default_score']:.4f}")
print("best configuration:", {k: (round(v, 4) if isinstance(v, float) else v) for k, v in clf.best_params_.items()})
