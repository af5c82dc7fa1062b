"""Does ``tune(ensemble=False)``'s ``selection_gap`` predict how much the chosen CV score flatters it on
repeated splits? (issue #11, ``docs/tuning.md`` "Final model")

The summary's ``expected_score`` is the chosen configuration's CV score minus ``selection_gap``, the optimism
of the lower-confidence-bound choice estimated from the folds (``metaopt.tuning._robust``: choose on half of
the folds, compare with the other half).  On repeated splits (tables below 1,000 rows) the halves mix
repeats, so the chosen half shares rows with the other; the alternative measured here keeps each half
within one split, whose folds share no rows.

Reads the lightgbm studies that ``bench_ensemble.py`` left (``--studies``; only those on repeated splits
are used), refits every configuration of each study on the training rows, scores it on the test rows in
the study's own metric, and compares, at 25 and 50 trials, the realised optimism of the shipped choice,
``(CV - test) of the chosen one - mean (CV - test) over all the study's configurations`` (the estimate's
"relative to the folds' difficulty"), with both estimates.  Metrics differ in scale (R^2, RMSE, log loss),
so the summary counts which estimate is closer and scales errors by the spread of the configurations'
test scores.

    python benchmarks/report_selection_gap.py --studies "/tmp/bench-ens-*/study.db"
"""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ensemble import _Prefix, _refit, study_contexts  # noqa: E402


def metric_score(sp: dict, fitted, ds, metric: str) -> float:
    """The study's own metric (``rmse``, ``log_loss``, ``roc_auc``, ...) on the test rows, so that test and
    CV scores are in the same currency."""
    from metaopt.core import score_predictions
    from metaopt.tuning import ColumnSchema, TunedModel

    model = TunedModel(fitted, ColumnSchema.from_dataset(ds), learner="x", kind=ds.kind, params={})
    if ds.kind == "regression":
        pred = np.asarray(model.predict(sp["Xte"]), dtype=float)
        return score_predictions(pred, np.asarray(sp["yte"], dtype=float), ds.kind, (metric,))[metric]
    lut = {str(c): i for i, c in enumerate(model.classes_)}
    codes = np.array([lut.get(str(v), -1) for v in pd.Series(sp["yte"]).astype(object)])
    proba = np.asarray(model.predict_proba(sp["Xte"]), dtype=float)
    keep = codes >= 0
    return score_predictions(proba[keep], codes[keep], ds.kind, (metric,))[metric]


def within_split_gap(folds: np.ndarray, sign: float, repeats: int) -> float:
    """The alternative estimate: halves of one split's folds at a time (within one split the corrected
    standard error is the plain one).  ``folds``: configurations x folds, one split after the other."""
    per = folds.shape[1] // repeats
    size = (per + 1) // 2
    gaps = []
    for block in range(0, folds.shape[1], per):
        for part in itertools.combinations(range(per), size):
            a = [block + i for i in part]
            b = [block + i for i in range(per) if i not in part]
            fa = folds[:, a]
            lcb = sign * fa.mean(axis=1) - fa.std(axis=1, ddof=1) / math.sqrt(len(a))
            chosen = int(np.argmax(lcb))
            diff = sign * (fa.mean(axis=1) - folds[:, b].mean(axis=1))
            gaps.append(diff[chosen] - diff.mean())
    return float(np.mean(gaps))


def main(argv: list[str] | None = None) -> int:
    from metaopt.tuning._robust import _entries, robust_choice

    rows = []
    for sp, study, ds, ctx in study_contexts(argv, __doc__):
        plan = ctx.cvx.plan
        if plan.repeats < 2:
            continue
        sign = 1.0 if ctx.maximize else -1.0
        test: dict = {}
        for n in (25, 50):
            view = _Prefix(study, n)
            entries = _entries(view, ctx.default)
            for e in entries:
                if e.source not in test:
                    test[e.source] = metric_score(sp, _refit(ctx, ds, e.params), ds, ctx.metric)
            choice = robust_choice(view, ctx.default, ctx.maximize)
            over = {e.source: sign * (e.mean - test[e.source]) for e in entries}
            rows.append({"dataset": sp["name"], "trials": n, "configs": len(entries),
                         "realised": over[choice.source] - float(np.mean(list(over.values()))),
                         "shipped": choice.gap,
                         "within_split": within_split_gap(np.stack([e.folds for e in entries]), sign,
                                                          plan.repeats),
                         "test_spread": float(np.std([test[e.source] for e in entries]))})
        print(f"  {sp['name']} ({plan.describe()})", flush=True)
    df = pd.DataFrame(rows)
    pd.set_option("display.width", 160)
    print(df.round(4).to_string(index=False))
    for n, g in df.groupby("trials"):
        err = {c: (g[c] - g["realised"]).abs() / g["test_spread"] for c in ("shipped", "within_split")}
        closer = int((err["shipped"] < err["within_split"]).sum())
        print(f"{n} trials, {len(g)} studies: shipped estimate closer to the realised optimism on {closer}, "
              f"within-split on {len(g) - closer}; mean |error| / spread of the configurations' test scores: "
              f"shipped {err['shipped'].mean():.2f}, within-split {err['within_split'].mean():.2f}; "
              f"estimate > realised: shipped {(g['shipped'] > g['realised']).sum()}, "
              f"within-split {(g['within_split'] > g['realised']).sum()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
