"""Does ``tune(timeout=B)`` end within its budget?  Wall time / budget over real datasets (issue #10).

Each (dataset, learner, budget) run is a fresh subprocess (cold imports, the meta-model from the disk
cache as a user's second run would have it) that times the whole ``metaopt.tune(path, timeout=B,
n_trials=None)`` call: loading, meta-features, recommendations, study, library default, warm start,
search and final refit.  The contract is wall / budget <= 1.1.  One thread per fit
(``OMP_NUM_THREADS=1``).

``--cli`` times ``metaopt tune PATH --timeout B`` instead, from outside the process: what a user timing the
command sees, the interpreter's start and the imports included.

``--base DIR`` runs another copy of the package (e.g. ``git archive HEAD metaopt | tar -x -C DIR``
plus a ``DIR/metadata`` link), to compare before and after a change in the same session::

    nice python benchmarks/bench_budget_overrun.py --budgets 10 30 --out /tmp/after.jsonl
    nice python benchmarks/bench_budget_overrun.py --base /tmp/base --out /tmp/before.jsonl
    nice python benchmarks/bench_budget_overrun.py --cli --budgets 5 10 --learners auto --base /tmp/base

Prints one line per run (wall, ratio, trials, the summary's time breakdown when it has one) and the
max / mean ratio per learner and budget.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: (name, file under the corpus or the repository, target): 1,000 to 50,000 rows, all three kinds
DATASETS = (
    ("credit-g", str(REPO / "examples" / "data" / "credit-g.csv"), "class"),
    ("coil2000", "coil2000_insurance_policies.csv", "CARAVAN"),
    ("letter", "letter.arff", "class"),
    ("house8L", "house8L.arff", "price"),
    ("csb_ch19e", "csb_ch19e.arff", "Freq"),
)
ONE_THREAD = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "LOKY_MAX_CPU_COUNT")}


def shared_corpus() -> Path:
    env = os.environ.get("METAOPT_SHARED_DATA")
    return (Path(env) if env else REPO.parent / "shared" / "data") / "corpus"


def child(spec: dict) -> None:
    """One run: time the whole ``tune`` call and print one JSON line."""
    from metaopt import tune

    t0 = time.monotonic()
    res = tune(spec["path"], target=spec["target"], learner=spec["learner"], timeout=spec["budget"], n_trials=None,
               progress=False, random_state=0)
    wall = time.monotonic() - t0
    s = res.summary.to_dict()
    print(json.dumps({"wall_s": wall, "n_trials": s.get("n_trials_run"), "learner_used": s.get("learner"),
                      "cv": s.get("cv"), "evaluation": s.get("evaluation"), "time": s.get("time")}))


def run_one(spec: dict, env: dict, cli: bool) -> dict:
    """One fresh process: the ``tune`` call timed inside it (:func:`child`), or with ``cli`` the whole
    ``metaopt tune`` command timed from outside; the run's wall time, trials and time breakdown."""
    if cli:
        cmd = [sys.executable, "-m", "metaopt", "tune", spec["path"], "--target", spec["target"], "--learner",
               spec["learner"], "--timeout", f"{spec['budget']:g}", "--seed", "0", "--json", "--quiet"]
    else:
        cmd = [sys.executable, __file__, "--child", json.dumps(spec)]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, env=env, cwd="/tmp", capture_output=True, text=True, timeout=5 * spec["budget"] + 300)
    wall = time.monotonic() - t0
    if proc.returncode != 0 or not proc.stdout.strip():
        return {"error": proc.stderr.strip().splitlines()[-1:]}
    if not cli:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    s = json.loads(proc.stdout)
    return {"wall_s": wall, "n_trials": s.get("n_trials_run"), "learner_used": s.get("learner"), "cv": s.get("cv"),
            "evaluation": s.get("evaluation"), "time": s.get("time")}


def _prime(env: dict, learners: list[str]) -> None:
    """Fit the meta-models once, outside the timed runs (a first run on new code fits them, ~15-30 s;
    a user's later runs load them from the disk cache)."""
    code = ("import metaopt, sys; [metaopt.recommend(sys.argv[1], target='class', learner=x) "
            "for x in ('auto', 'lightgbm', 'random_forest', 'extra_trees', 'linear')]")  # auto may turn to any
    if "auto" in learners or "lightgbm" in learners:
        subprocess.run([sys.executable, "-c", code, DATASETS[0][1]], env=env, cwd="/tmp", capture_output=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budgets", type=float, nargs="+", default=[10.0, 30.0])
    ap.add_argument("--learners", nargs="+", default=["lightgbm", "auto"])
    ap.add_argument("--datasets", nargs="+", help="names from DATASETS (default: all)")
    ap.add_argument("--cli", action="store_true", help="time the `metaopt tune` command from outside its process")
    ap.add_argument("--base", help="run the metaopt package found in this directory instead")
    ap.add_argument("--out", help="append one JSON line per run here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0
    env = {**os.environ, **ONE_THREAD}
    if args.base:
        env["PYTHONPATH"] = args.base
    _prime(env, args.learners)
    rows = []
    for name, file, target in DATASETS:
        if args.datasets and name not in args.datasets:
            continue
        path = file if os.path.isabs(file) else str(shared_corpus() / file)
        if not os.path.exists(path):
            print(f"skip {name}: {path} not found", file=sys.stderr)
            continue
        for learner in args.learners:
            for budget in args.budgets:
                spec = {"path": path, "target": target, "learner": learner, "budget": budget}
                row = {"dataset": name, "learner": learner, "budget": budget, "base": args.base, "cli": args.cli,
                       **run_one(spec, env, args.cli)}
                row["ratio"] = row["wall_s"] / budget if "wall_s" in row else None
                rows.append(row)
                print(f"{name:10s} {learner:9s} B={budget:4.0f}  wall {row.get('wall_s', float('nan')):6.1f} s  "
                      f"ratio {row['ratio'] if row['ratio'] is not None else float('nan'):.2f}  "
                      f"trials {row.get('n_trials')}  {row.get('learner_used')}  cv {row.get('cv')}  "
                      f"{row.get('time') or row.get('error') or ''}", flush=True)
                if args.out:
                    with open(args.out, "a", encoding="utf-8") as fh:
                        fh.write(json.dumps(row) + "\n")
    print("\nlearner   budget  runs  max ratio  mean ratio")
    for learner in args.learners:
        for budget in args.budgets:
            ratios = [r["ratio"] for r in rows if r["learner"] == learner and r["budget"] == budget and r["ratio"]]
            if ratios:
                print(f"{learner:9s} {budget:6.0f}  {len(ratios):4d}  {max(ratios):9.2f}  "
                      f"{sum(ratios) / len(ratios):10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
