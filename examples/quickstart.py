"""Quickstart: recommend configurations, tune with a warm start, save the model, predict.

    python examples/quickstart.py            # ~30 trials; a minute or so on a laptop

The same from the shell::

    metaopt tune examples/data/credit-g.csv --target class --trials 30 --output credit.joblib
    metaopt predict credit.joblib examples/data/credit-g.csv > predictions.csv

Model files are pickles (joblib): load only model files you made or trust.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

import metaopt
from metaopt.tuning import load_model, tune

DATA = Path(__file__).parent / "data" / "credit-g.csv"
N_TRIALS = int(sys.argv[1]) if len(sys.argv) > 1 else 30

# 1. What does metaopt suggest for this dataset, before any training?
data = metaopt.load_data(DATA, target="class")
print(f"{data.name}: {data.n_rows} rows x {data.n_features} features ({data.kind})\n")
for rec in metaopt.recommend(data, k=3):
    params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in rec.params.items())
    print(f"recommendation {rec.rank}: {rec.learner}  {params}")

# 2. Tune: the recommendations are the first trials, then the MetaSampler explores; every
#    configuration (and the library default) is scored by 5-fold CV on the same folds.
result = tune(data, n_trials=N_TRIALS, cv=5, random_state=0)
print()
print(result.summary)

# 3. Save the model refitted on all rows, load it again and predict new rows.
with tempfile.TemporaryDirectory() as tmp:
    path = result.save(Path(tmp) / "credit.joblib")
    model = load_model(path)
    new_rows = pd.read_csv(DATA).drop(columns=["class"]).head(5)
    proba = model.predict_proba(new_rows)
    print("\npredictions for 5 rows:")
    for label, p in zip(model.predict(new_rows), proba, strict=True):
        print(f"  {label:<5} " + "  ".join(f"P({c})={v:.2f}" for c, v in zip(model.classes_, p, strict=True)))
