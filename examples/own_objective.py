"""Warm-starting your own Optuna objective with metaopt.

Your objective keeps its own code and parameter names; metaopt only decides which
configurations to try first (``warm_start``) and, optionally, how to continue (``MetaSampler``).

    python examples/own_objective.py
"""

from __future__ import annotations

from pathlib import Path

import lightgbm
import optuna
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from metaopt import load_data
from metaopt.warmstart import MetaSampler, warm_start

optuna.logging.set_verbosity(optuna.logging.WARNING)
data = load_data(Path(__file__).parent / "data" / "credit-g.csv", target="class")
X_tr, X_va, y_tr, y_va = train_test_split(data.X, data.y, test_size=0.25, random_state=0, stratify=data.y)
positive = data.y.cat.categories[1]
y_tr, y_va = (y_tr == positive).astype(int), (y_va == positive).astype(int)  # 0/1 labels


def objective(trial: optuna.Trial) -> float:
    # your own names: "lr" and "leaves" differ from LightGBM's, "min_child_samples" matches
    params = {
        "learning_rate": trial.suggest_float("lr", 0.005, 0.3, log=True),
        "num_leaves": trial.suggest_int("leaves", 4, 256, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 2, 100, log=True),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
    }
    model = lightgbm.LGBMClassifier(**params, n_estimators=2000, n_jobs=1, verbose=-1, random_state=0)
    model.fit(X_tr, y_tr, eval_X=(X_va,), eval_y=(y_va,), callbacks=[lightgbm.early_stopping(50, verbose=False)])
    return roc_auc_score(y_va, model.predict_proba(X_va)[:, 1])


# tell metaopt how your names map to the learner's ({learner's name: yours}); names that match
# (min_child_samples, colsample_bytree) need no entry when the study already has trials, but a fresh
# study knows no names yet, so list the space too (values are clipped into it)
names = {"learning_rate": "lr", "num_leaves": "leaves", "min_child_samples": "min_child_samples",
         "colsample_bytree": "colsample_bytree"}
space = {
    "lr": optuna.distributions.FloatDistribution(0.005, 0.3, log=True),
    "leaves": optuna.distributions.IntDistribution(4, 256, log=True),
    "min_child_samples": optuna.distributions.IntDistribution(2, 100, log=True),
    "colsample_bytree": optuna.distributions.FloatDistribution(0.3, 1.0),
}

# 1. any sampler: enqueue the 5 recommended configurations, then plain TPE
study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
enqueued = warm_start(study, data.X, data.y, k=5, param_names=names, search_space=space)
print("enqueued:", *enqueued, sep="\n  ")
study.optimize(objective, n_trials=15)
print(f"warm_start + TPE : best {study.best_value:.4f} after {len(study.trials)} trials")

# 2. MetaSampler: the same start, then candidates re-ranked by the KB surrogate for this dataset
sampler = MetaSampler(data.X, data.y, k=5, seed=0, param_names=names, search_space=space)
study = optuna.create_study(direction="maximize", sampler=sampler)
study.optimize(objective, n_trials=15)
print(f"MetaSampler      : best {study.best_value:.4f} after {len(study.trials)} trials "
      f"(prior weight now {sampler.last_weight:.2f})")
