"""Re-tuning a table every month: this month's search starts from last month's best trial.

A study per month in one storage: ``tune`` finds the storage's earlier studies on a table with the same
columns and target and tries the best of their best trials first, before the knowledge base's picks
(docs/metamodel.md, "Your own studies first"). Here credit-g's rows are cut in two, November's and
December's.

    python examples/monthly_retune.py     # ~20 s; an argument sets December's trials (default 3)

The same from the shell (``recommend --storage`` shows what December's search starts from):

    metaopt tune november.csv --target class --storage tune.db --study-name 2026-11
    metaopt recommend december.csv --target class --storage tune.db
    metaopt tune december.csv --target class --storage tune.db --study-name 2026-12
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import optuna
import pandas as pd

from metaopt import recommend
from metaopt.tuning import tune

N_TRIALS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
STORAGE = f"sqlite:///{tempfile.mkdtemp()}/tune.db"  # a new one each run (a kept one would be resumed)

rows = pd.read_csv(Path(__file__).resolve().parent / "data" / "credit-g.csv").sample(frac=1.0, random_state=0)
november, december = rows.iloc[:500], rows.iloc[500:]
run = dict(target="class", learner="lightgbm", progress=False, ensemble=False)

tune(november, n_trials=10, storage=STORAGE, study_name="2026-11", **run)
best = optuna.load_study(study_name="2026-11", storage=STORAGE).best_trial
print(f"November: best CV roc_auc {best.value:.4f} (trial {best.number})")
first_pick = recommend(december, target="class", learner="lightgbm", k=3, storage=STORAGE)[0]
print(f"recommend(storage=...) for December: first {first_pick.config_id} ({first_pick.reason})")

for storage, name in ((STORAGE, "2026-12"), (None, None)):
    result = tune(december, n_trials=N_TRIALS, storage=storage, study_name=name, **run)
    first = min(result.study.trials, key=lambda t: t.number)
    where = "the same storage" if storage else "no storage     "
    print(f"December, {where}: first trial {first.user_attrs.get('metaopt:config_id')} CV roc_auc "
          f"{first.value:.4f}; best after {N_TRIALS} trials {result.best_score:.4f}")
    for note in result.notes:
        if "your own study" in note:
            print("  note:", note)
