"""Why a LightGBM refit's rounds differ: for the best configurations of `bench_ensemble.py`'s `learner="auto"`
studies at a checkpoint, the mean best iteration of the search's folds (what ``tune`` refits for) next to the
rounds that early stopping picks when each of three seeds refits on all rows less an inner split (the refit
before the twenty-ninth session).

    python benchmarks/peek_refit_rounds.py socmob,analcatdata_marketing 50
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_time import REPO  # noqa: E402
from report_lgbm_refit import _cv_rounds  # noqa: E402
from report_seed_bagging import _studies, selection_at  # noqa: E402

CACHE = REPO / "benchmarks" / "results" / "ens_auto_holdout.jsonl"


def main(argv: list[str]) -> int:
    from metaopt.learners import get_learner

    warnings.filterwarnings("ignore")
    want, n = argv[0].split(","), int(argv[1])
    for rec in (json.loads(line) for line in CACHE.read_text().splitlines()):
        if rec["dataset"] not in want:
            continue
        for st in _studies(rec, "/tmp/bench-ens-*/study.db"):
            sp, ds, ctx, cands, members, info = selection_at(rec, st, n)
            if abs(info["cv_score"] - rec["checkpoints"][str(n)]["ensemble"]["cv"]) > 1e-9:
                continue
            print(rec["dataset"], ds.n_rows, "rows,", ds.kind, ctx.metric, ctx.cvx.n_folds, "folds of",
                  ctx.cvx.task.folds[0][0].size, "training rows")
            for c in [c for c in cands[:3] if c.learner == "lightgbm"]:
                lrn = get_learner("lightgbm")
                es = [lrn.fit(ds.X, ds.y, c.params, ds.kind, random_state=ctx.seed + s).n_estimators_used
                      for s in range(3)]
                print(f"  {c.source}: CV {c.cv_score:.4f}, folds' mean rounds {_cv_rounds(lrn, ctx, ds, c.params)}, "
                      f"early-stopped refits {es}, learning_rate {c.params.get('learning_rate', 0):.4f}")
            break
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
