"""How to choose ONE configuration from a study without overfitting its folds (issue #11, ``--no-ensemble``).

Reads the lightgbm studies that ``bench_ensemble.py`` left in its temporary folders (``--studies``,
default ``$TMPDIR/bench-ens-*/study.db``), matches each to its hold-out split by rows and columns, and
for the first 25 and 50 trials refits the configuration each rule picks on the training rows and
scores it on the test rows (same metric as ``bench_ensemble.py``):

- ``best``: the best CV mean (the library default included);
- ``1se-fastest``: the fastest to fit within one standard error of the best (``tune(ensemble=False)`` today);
- ``lcb``: the best lower confidence bound, mean - one standard error of its own folds;
- ``1se-best-worst-fold``: within one standard error, the best worst fold.

Prints the mean test score, mean normalised score and wins against ``best`` per rule.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ensemble import _Prefix, _refit, _score, study_contexts  # noqa: E402

RULES = ("best", "1se-fastest", "lcb", "1se-best-worst-fold")


def _entries(view, ctx) -> list[SimpleNamespace]:
    from optuna.trial import TrialState

    from metaopt.tuning._study import DEFAULT_ATTR

    out = []
    for t in view.get_trials(states=(TrialState.COMPLETE,)):
        f = np.asarray(t.user_attrs.get("fold_scores") or [], float)
        out.append(SimpleNamespace(src=t.number, params=dict(t.user_attrs.get("config") or t.params), folds=f,
                                   fit=float(t.user_attrs.get("metaopt:fit_s") or math.inf)))
    st = view.user_attrs.get(DEFAULT_ATTR) or {}
    if st.get("score") is not None:
        out.append(SimpleNamespace(src="default", params=dict(ctx.default.params),
                                   folds=np.asarray(st.get("fold_scores") or [], float), fit=float(st.get("fit_s") or 1)))
    k = max(len(e.folds) for e in out)
    return [e for e in out if len(e.folds) == k and np.all(np.isfinite(e.folds))]


def choose(entries: list, rule: str, sign: float) -> SimpleNamespace:
    means = np.array([sign * e.folds.mean() for e in entries])
    best = int(np.argmax(means))
    if rule == "best":
        return entries[best]
    k = len(entries[best].folds)
    se = lambda e: float(np.std(e.folds, ddof=1) / math.sqrt(k)) if k > 1 else 0.0  # noqa: E731
    if rule == "lcb":
        return entries[int(np.argmax([m - se(e) for m, e in zip(means, entries)]))]
    within = [i for i in range(len(entries)) if means[i] >= means[best] - se(entries[best]) - 1e-12]
    if rule == "1se-fastest":
        return entries[min(within, key=lambda i: (entries[i].fit, -means[i]))]
    return entries[max(within, key=lambda i: (np.min(sign * entries[i].folds), means[i]))]


def main(argv=None) -> int:
    rows = []
    for sp, study, ds, ctx in study_contexts(argv, __doc__):
        sign = 1.0 if ctx.maximize else -1.0
        for n in (25, 50):
            entries = _entries(_Prefix(study, n), ctx)
            picked = {r: choose(entries, r, sign) for r in RULES}
            cache = {}
            for r, e in picked.items():
                if e.src not in cache:
                    cache[e.src] = _score(sp, _refit(ctx, ds, e.params), ds)
                rows.append({"dataset": sp["name"], "trials": n, "rule": r, "score": cache[e.src]})
        print(f"  {sp['name']}", flush=True)
    df = pd.DataFrame(rows)
    lo = df.groupby(["dataset", "trials"])["score"].transform("min")
    hi = df.groupby(["dataset", "trials"])["score"].transform("max")
    df["norm"] = ((df["score"] - lo) / (hi - lo).where(hi > lo)).fillna(1.0)
    print(f"{df['dataset'].nunique()} datasets")
    print(df.pivot_table(index="rule", columns="trials", values=["score", "norm"], aggfunc="mean").round(4))
    piv = df.pivot_table(index=["dataset", "trials"], columns="rule", values="score")
    for r in RULES[1:]:
        for n in (25, 50):
            d = (piv[r] - piv["best"]).xs(n, level="trials")
            print(f"{r} vs best at {n}: {(d >= 1e-4).sum()} W / {(d.abs() < 1e-4).sum()} T / {(d <= -1e-4).sum()} L")
    return 0


if __name__ == "__main__":
    sys.exit(main())
