"""What the default meta sampler costs over TPE: ``metaopt tune --trials 20``, ``--sampler meta`` vs ``tpe``.

Bar (issue "The main job without surprises"): on an EMPTY meta-model cache the
wall-time ratio meta/tpe is at most 1.3, and no sampler call after the first
trial takes 1 s or more.

For each dataset (default: ``examples/data/credit-g.csv`` and, from the shared
corpus, ``diabetes`` (Pima, binary) and ``autompg`` (regression)) the script runs
``metaopt tune DATA --trials N --sampler meta|tpe --seed 0 --quiet --json``, each
in a fresh process of this interpreter running this checkout, with
``METAOPT_CACHE_DIR`` pointing to a new empty directory, and the two samplers
interleaved (the order alternates between repeats, so a load change on the
machine hits both).  The child process wraps the study sampler's
``before_trial``, ``infer_relative_search_space``, ``sample_relative`` and
``sample_independent`` (``MetaSampler`` for meta, ``DistinctSampler`` around TPE
for tpe) in a timer, keyed by trial number.

Printed per dataset: wall time of each sampler (median over repeats), the ratio,
the same ratio without the objective's time (the two samplers try different
configurations, which cost differently and are pruned differently), the slowest
single sampler call and the largest per-trial sampler total in any trial after
the first (trial number >= 1), and whether the bars hold.

Usage::

    nice python benchmarks/bench_sampler_overhead.py [--trials 20] [--repeat 1] [DATA ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("METAOPT_SHARED_DATA") or REPO.parent / "shared" / "data") / "corpus"
DEFAULT_DATA = [REPO / "examples" / "data" / "credit-g.csv", CORPUS / "diabetes.arff", CORPUS / "autompg.arff"]
RATIO_BAR, CALL_BAR_S = 1.3, 1.0
METHODS = ("before_trial", "infer_relative_search_space", "sample_relative", "sample_independent")


# ----------------------------------------------------------------------------------------- child
def _child(out: str, argv: list[str]) -> int:
    """Run ``metaopt`` with timed sampler methods; write the calls to ``out`` (JSON)."""
    import functools

    from metaopt.cli import main
    from metaopt.warmstart import DistinctSampler, MetaSampler

    calls: list[tuple[int, str, float]] = []

    def timed(name, fn):
        @functools.wraps(fn)
        def wrapper(self, study, trial, *args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(self, study, trial, *args, **kwargs)
            finally:
                calls.append((int(trial.number), name, time.perf_counter() - t0))
        return wrapper

    for cls in (MetaSampler, DistinctSampler):
        for name in METHODS:
            setattr(cls, name, timed(name, getattr(cls, name)))
    rc = main(argv)
    Path(out).write_text(json.dumps({"rc": rc, "calls": calls}))
    return rc


# ----------------------------------------------------------------------------------------- parent
def run_one(data: Path, sampler: str, trials: int) -> dict:
    """One fresh ``metaopt tune`` process on an empty cache: wall time, summary, sampler timings."""
    with tempfile.TemporaryDirectory(prefix="bench-sampler-") as tmp:
        env = {**os.environ, "METAOPT_CACHE_DIR": str(Path(tmp) / "cache"), "OMP_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        out = Path(tmp) / "calls.json"
        cmd = [sys.executable, __file__, "--child", str(out), "--", "tune", str(data), "--trials", str(trials),
               "--sampler", sampler, "--seed", "0", "--quiet", "--json"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp)
        wall = time.perf_counter() - t0
        if proc.returncode != 0 or not out.is_file():
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        calls = json.loads(out.read_text())["calls"]
    summary = json.loads(proc.stdout)
    later = [c for c in calls if c[0] >= 1]
    per_trial: dict[int, float] = {}
    for number, _, s in later:
        per_trial[number] = per_trial.get(number, 0.0) + s
    slowest = max(later, key=lambda c: c[2], default=(None, "-", 0.0))
    return {"wall": wall, "learner": summary.get("learner"), "best": summary.get("best_score"),
            "n_calls": len(calls), "slowest_call": slowest, "slowest_trial": max(per_trial.values(), default=0.0),
            "first_trial": sum(s for n, _, s in calls if n == 0), "sampler": sum(c[2] for c in calls),
            "search": float(summary.get("search_time_s") or 0.0), "pruned": summary.get("n_pruned"),
            "complete": summary.get("n_complete")}


def bench(data: list[Path], trials: int, repeat: int) -> list[dict]:
    rows = []
    for path in data:
        runs: dict[str, list[dict]] = {"meta": [], "tpe": []}
        for r in range(repeat):
            for sampler in (("meta", "tpe") if r % 2 == 0 else ("tpe", "meta")):
                res = run_one(path, sampler, trials)
                runs[sampler].append(res)
                print(f"  {path.stem:<10} {sampler:<4} {res['wall']:6.1f} s  (search {res['search']:.1f} s, of it "
                      f"sampler {res['sampler']:.2f} s; {res['complete']} complete, {res['pruned']} pruned; best "
                      f"{res['best']:.4f}), "
                      f"learner {res['learner']}, slowest sampler call after trial 0: "
                      f"{res['slowest_call'][2]:.3f} s ({res['slowest_call'][1]}, trial {res['slowest_call'][0]}), "
                      f"first trial's sampler calls {res['first_trial']:.2f} s", flush=True)
        meta = statistics.median(x["wall"] for x in runs["meta"])
        tpe = statistics.median(x["wall"] for x in runs["tpe"])
        rest = {k: statistics.median(x["wall"] - x["search"] + x["sampler"] for x in runs[k]) for k in runs}
        rows.append({"dataset": path.stem, "meta_s": meta, "tpe_s": tpe, "ratio": meta / tpe,
                     "overhead_ratio": rest["meta"] / rest["tpe"],
                     "meta_call_s": max(x["slowest_call"][2] for x in runs["meta"]),
                     "meta_trial_s": max(x["slowest_trial"] for x in runs["meta"]),
                     "tpe_call_s": max(x["slowest_call"][2] for x in runs["tpe"])})
    return rows


def report(rows: list[dict], trials: int) -> bool:
    print(f"\nmetaopt tune --trials {trials}, empty meta-model cache, fresh process each "
          f"(median wall time; slowest sampler call / per-trial sampler total after the first trial)")
    head = f"{'dataset':<10} {'meta s':>7} {'tpe s':>7} {'ratio':>6} {'w/o obj':>8} {'meta call':>10} " \
           f"{'meta trial':>11} {'tpe call':>9}"
    print(head)
    print("-" * len(head))
    ok = True
    for r in rows:
        good = r["ratio"] <= RATIO_BAR and r["meta_call_s"] < CALL_BAR_S
        ok &= good
        print(f"{r['dataset']:<10} {r['meta_s']:7.1f} {r['tpe_s']:7.1f} {r['ratio']:6.2f} {r['overhead_ratio']:8.2f} "
              f"{r['meta_call_s']:9.3f}s "
              f"{r['meta_trial_s']:10.3f}s {r['tpe_call_s']:8.3f}s  {'ok' if good else 'FAILS the bar'}")
    print(f"bar: ratio <= {RATIO_BAR}, slowest sampler call after the first trial < {CALL_BAR_S:g} s: "
          f"{'met' if ok else 'NOT met'}")
    print("w/o obj: the ratio of wall time minus the objective's time (search time less the sampler's): "
          "start-up, meta-model fit, default score, refit and sampling")
    return ok


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return _child(argv[1], argv[3:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", nargs="*", type=Path, help="datasets (default: credit-g, diabetes, autompg)")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=1, help="meta/tpe pairs per dataset (order alternates)")
    args = ap.parse_args(argv)
    data = [p.resolve() for p in args.data] or DEFAULT_DATA  # the children run in a temporary folder
    missing = [str(p) for p in data if not p.is_file()]
    if missing:
        print(f"missing dataset(s): {', '.join(missing)}", file=sys.stderr)
        return 2
    rows = bench(data, args.trials, args.repeat)
    return 0 if report(rows, args.trials) else 1


if __name__ == "__main__":
    sys.exit(main())
