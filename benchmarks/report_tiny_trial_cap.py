"""Does capping the trials help on tiny tables at 120 s? (issues #10 / #11; one seed, a pointer only)

Runs ``tune(learner="auto", timeout=120, n_trials=CAP)`` on one hold-out table's split of
``bench_time.py`` (the pickles it leaves in its ``--split-dir``, default
``$TMPDIR/metaopt_bench_time_splits``) and prints the test score as JSON, to set beside that
benchmark's uncapped 120 s run of the same split (``docs/bench_time.md``):

    printf "%s\\n" haberman Ozone analcatdata_draft | xargs -P 2 -I{} python benchmarks/report_tiny_trial_cap.py {} 50
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_time import holdout_score  # noqa: E402


def main(argv: list[str]) -> int:
    import optuna

    import metaopt

    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name, cap = argv[0], int(argv[1])
    sp = pd.read_pickle(Path(tempfile.gettempdir()) / "metaopt_bench_time_splits" / f"{name}-s0.pkl")
    train = sp["Xtr"].copy()
    train[sp["target"]] = sp["ytr"].to_numpy()
    t0 = time.perf_counter()
    res = metaopt.tune(train, target=sp["target"], kind=sp["kind"], learner="auto", timeout=120, n_trials=cap,
                       progress=False, random_state=0)
    model = res.model
    if sp["kind"] == "regression":
        score = holdout_score("regression", sp["yte"], pred=model.predict(sp["Xte"]))
    else:
        score = holdout_score(sp["kind"], sp["yte"], proba=model.predict_proba(sp["Xte"]), classes=model.classes_)
    print(json.dumps({"name": name, "cap": cap, "score": score, "wall": time.perf_counter() - t0}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
