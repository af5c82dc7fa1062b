"""A user's first ``tune(timeout=B)``: nothing cached, so the meta-model is fitted inside the budget.

What it measures.  ``bench_time.py``'s metaopt runs (the 30 hold-out tables, its 75/25 split, one thread,
a fresh process per run, the test score of the returned model: ROC AUC or R^2), but every run starts with an
empty meta-model cache (``METAOPT_CACHE_DIR``: a new empty folder), as the first run after installing
metaopt or changing its KB does.  Each run is made twice, side by side in the same session: with this
checkout's metaopt and with another copy (``--base DIR``: ``git archive <commit> metaopt | tar -x -C DIR``
plus a ``DIR/metadata`` link), the two copies of one (table, learner, budget) one after the other.

Report per learner and budget: mean test score of each copy and the change (paired bootstrap 90 % interval
over the tables), wins / ties / losses (tie: within 1e-4), runs whose model is an unscored library default
(no configuration finished in the budget), mean completed trials, the mean seconds booked to
``recommend`` (where the meta-model fit lands), and mean / max wall / budget::

    nice python benchmarks/bench_cold_start.py --base /tmp/base --budgets 10 30 --jobs 2 \\
        --cache benchmarks/results/cold_start.jsonl

With ``--prefit`` the pair measures what ``metaopt kb prefit`` buys instead: the "new" copy starts from a cache
that ``metaopt kb prefit`` filled once before the runs (each run gets its own copy of it), the "base" copy from
an empty one, and ``--base`` defaults to this checkout::

    nice python benchmarks/bench_cold_start.py --prefit --budgets 10 30 --learners auto \\
        --cache benchmarks/results/cold_start_prefit.jsonl

Resumable: runs in ``--cache`` are not redone; ``--report-only`` prints the report of the cache.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
METHODS = {"lightgbm": "metaopt-lgbm", "auto": "metaopt-auto"}
TIE = 1e-4


def bench_time():
    """``bench_time.py`` as a module (its datasets, split, child process and scoring)."""
    spec = importlib.util.spec_from_file_location("bench_time", HERE / "bench_time.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def key(r: dict) -> tuple:
    return (r["dataset"], r["method"], float(r["budget"]), r["copy"])


def run_cold(bt, job: dict, base: str | None, prefitted: str | None = None) -> dict:
    """One run in a fresh process with an empty meta-model cache (the "new" copy: a copy of ``prefitted`` where
    given), with this checkout's or the base's metaopt."""
    cache_dir = tempfile.mkdtemp(prefix="metaopt_cold_cache_")
    if prefitted and job["copy"] == "new":
        shutil.copytree(prefitted, cache_dir, dirs_exist_ok=True)
    env = {"METAOPT_CACHE_DIR": cache_dir}
    if job["copy"] == "base":
        env["PYTHONPATH"] = base
    try:
        res = bt.launch({k: v for k, v in job.items() if k != "copy"}, env=env)
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    return {**res, "copy": job["copy"]}


def _prefitted() -> str:
    """A cache directory that ``metaopt kb prefit`` (this checkout, its own process) filled with every meta-model."""
    import os
    import subprocess

    path = tempfile.mkdtemp(prefix="metaopt_prefitted_")
    subprocess.run([sys.executable, "-m", "metaopt", "kb", "prefit"], check=True,
                   env={**os.environ, "METAOPT_CACHE_DIR": path, "PYTHONPATH": str(HERE.parent)})
    return path


def plan(bt, names: list[str] | None, learners: list[str], budgets: list[float], split_dir: Path) -> list[dict]:
    """Every (table, learner, budget) twice, the two copies next to each other; smallest budgets first."""
    rows = bt.dataset_rows(None, names, large=False)
    jobs = []
    for b in budgets:
        for row in sorted(rows, key=lambda r: int(r["n_rows"])):
            split = str(bt.split_path(row, split_dir))
            for learner in learners:
                for copy in ("new", "base"):
                    jobs.append({"dataset": row["name"], "group": "holdout", "method": METHODS[learner],
                                 "budget": b, "seed": 0, "split": split, "copy": copy})
    return jobs


def _interval(diff: np.ndarray, draws: int = 20_000, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(draws, len(diff)))].mean(axis=1)
    return float(np.quantile(means, 0.05)), float(np.quantile(means, 0.95))


def _unscored(r: dict) -> bool:
    s = r.get("metaopt_summary") or {}
    return r.get("status") != "ok" or s.get("best_score") is None


def report(runs: dict) -> None:
    cells = sorted({(r["method"], float(r["budget"])) for r in runs.values()})
    print("| learner, budget | tables | mean test score base / new | change (90 % interval) | w/t/l new vs base "
          "| unscored default base / new | completed trials base / new | recommend s base / new "
          "| wall/budget mean, max base / new |")
    print("|---|---|---|---|---|---|---|---|---|")
    for method, budget in cells:
        pairs = [(runs.get((d, method, budget, "base")), runs.get((d, method, budget, "new")))
                 for d in sorted({k[0] for k in runs if k[1] == method and k[2] == budget})]
        pairs = [(b, n) for b, n in pairs if b is not None and n is not None]
        if not pairs:
            continue
        # a run without a model scores its table's worse score of the two (it lost)
        score = np.array([[r.get("score") if r.get("status") == "ok" else np.nan for r in p] for p in pairs], float)
        worst = np.nanmin(score, axis=1)
        score = np.where(np.isnan(score), worst[:, None], score)
        diff = score[:, 1] - score[:, 0]
        lo, hi = _interval(diff)
        w, loss = int((diff > TIE).sum()), int((diff < -TIE).sum())

        def per_copy(f) -> str:
            return " / ".join(f"{np.mean([f(p[i]) for p in pairs]):.2f}" for i in (0, 1))

        def trials(r: dict) -> float:
            return float((r.get("metaopt_summary") or {}).get("n_complete") or 0)

        def recommend_s(r: dict) -> float:
            return float(((r.get("metaopt_summary") or {}).get("time") or {}).get("recommend") or 0.0)

        ratios = [[(p[i].get("wall_s") or np.nan) / budget for p in pairs] for i in (0, 1)]
        wall = " / ".join(f"{np.nanmean(x):.2f}, {np.nanmax(x):.2f}" for x in ratios)
        unscored = " / ".join(str(sum(_unscored(p[i]) for p in pairs)) for i in (0, 1))
        print(f"| {method.removeprefix('metaopt-')}, {budget:g} s | {len(pairs)} | {score[:, 0].mean():.4f} / "
              f"{score[:, 1].mean():.4f} | {diff.mean():+.4f} ({lo:+.4f} .. {hi:+.4f}) | {w}/{len(diff) - w - loss}/"
              f"{loss} | {unscored} | {per_copy(trials)} | {per_copy(recommend_s)} | {wall} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", help="directory holding the other copy of metaopt (and a metadata link)")
    ap.add_argument("--budgets", type=float, nargs="+", default=[10.0, 30.0])
    ap.add_argument("--learners", nargs="+", default=["lightgbm", "auto"], choices=sorted(METHODS))
    ap.add_argument("--only", help="comma-separated hold-out table names (default: all 30)")
    ap.add_argument("--jobs", type=int, default=2, help="runs at a time (each single-threaded)")
    ap.add_argument("--cache", default=str(HERE / "results" / "cold_start.jsonl"))
    ap.add_argument("--split-dir", default=str(Path(tempfile.gettempdir()) / "metaopt_bench_time_splits"))
    ap.add_argument("--prefit", action="store_true",
                    help="the new copy starts from a cache filled by 'metaopt kb prefit' (--base: this checkout)")
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args(argv)
    if args.prefit and not args.base:
        args.base = str(HERE.parent)
    cache = Path(args.cache)
    bt = bench_time()
    done = bt.read_cache(str(cache), key)
    if not args.report_only:
        if not args.base or not (Path(args.base) / "metaopt").is_dir():
            ap.error("--base must name a directory holding a copy of the metaopt package")
        names = args.only.split(",") if args.only else None
        todo = [j for j in plan(bt, names, args.learners, args.budgets, Path(args.split_dir)) if key(j) not in done]
        print(f"{len(done)} runs in {cache}; {len(todo)} to run", file=sys.stderr)
        cache.parent.mkdir(parents=True, exist_ok=True)
        prefitted = _prefitted() if args.prefit and todo else None
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for res in pool.map(lambda j: run_cold(bt, j, str(Path(args.base).resolve()), prefitted), todo):
                with open(cache, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(res) + "\n")
                done[key(res)] = res
                print(f"  {res['dataset']:<28} {res['method']:<13} {res['budget']:>4g} s {res['copy']:<4} "
                      f"{res.get('status')} score {res.get('score')} wall {res.get('wall_s')}", file=sys.stderr,
                      flush=True)
    report(done)
    return 0


if __name__ == "__main__":
    sys.exit(main())
