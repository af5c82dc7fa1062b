"""Parallel trials: trials per minute of ``tune`` at 1 and 2 jobs (processes; threads for comparison).

Runs ``tune(learner="lightgbm", cv=5, timeout=T)`` on corpus datasets with ``n_jobs=1``, ``n_jobs=2``
(worker processes, the default) and ``n_jobs=2`` in threads (what ``tune`` did before: Optuna's own
``n_jobs``), repeated and interleaved so that load on a shared machine hits every mode alike.
Trials per minute = trials of the call / seconds of its search phase x 60.  Prints the median per
dataset and mode, the ratios to one job, and the cores each mode got (CPU seconds / wall seconds of
the call) and its trials per CPU-minute: on a shared machine the cores a mode gets bound its speed-up,
and trials per CPU-minute show its overhead.

Usage: python benchmarks/bench_parallel.py [--datasets abalone vehicle] [--timeout 40] [--repeat 3]
       (about datasets x 3 modes x repeat x timeout seconds; needs 2 free cores to mean anything)
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

import pandas as pd


def shared_data() -> Path:
    env = os.environ.get("METAOPT_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load(name: str):
    import metaopt

    cat = pd.read_csv(shared_data() / "corpus" / "catalog.csv").set_index("name")
    row = cat.loc[name]
    return metaopt.load_data(str(shared_data() / "corpus" / row["file"]), target=row["target"])


def _cpu_s() -> float:
    """CPU seconds of this process (all its threads) and of its waited-for children (the worker processes)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run(ds, mode: str, timeout: float, seed: int) -> tuple[int, float, float, float]:
    """(trials of the call, seconds of its search, wall seconds, CPU seconds of the call) in ``mode``."""
    from metaopt.tuning import tune

    jobs = 1 if mode == "1 job" else 2
    threads = mode == "2 threads"
    wall0, cpu0 = time.monotonic(), _cpu_s()
    with mock.patch("metaopt.tuning._tune.processes_available", return_value=not threads):
        res = tune(ds, learner="lightgbm", cv=5, n_trials=None, timeout=timeout, n_jobs=jobs, progress=False,
                   random_state=seed)
    wall, cpu = time.monotonic() - wall0, _cpu_s() - cpu0
    s = res.summary
    search = (s.time or {}).get("search") or s.search_time_s
    return s.n_trials_run, float(search), wall, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["abalone", "vehicle"])
    ap.add_argument("--timeout", type=float, default=40.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    modes = ["1 job", "2 processes", "2 threads"]
    rows = []
    for name in args.datasets:
        ds = load(name)
        run(ds, "1 job", 5.0, 0)  # the meta-model and imports, once, outside the measurement
        for rep in range(args.repeat):
            for mode in modes:
                n, secs, wall, cpu = run(ds, mode, args.timeout, rep)
                rows.append({"dataset": name, "rows": ds.n_rows, "mode": mode, "rep": rep, "trials": n,
                             "search_s": secs, "per_min": 60.0 * n / secs if secs > 0 else float("nan"),
                             "cores": cpu / wall, "per_cpu_min": 60.0 * n / cpu if cpu > 0 else float("nan")})
                print(f"{name:10s} {mode:12s} rep {rep}: {n:3d} trials in {secs:5.1f} s = "
                      f"{rows[-1]['per_min']:6.1f}/min; {cpu:5.1f} CPU s = {rows[-1]['cores']:.2f} cores",
                      file=sys.stderr, flush=True)
    df = pd.DataFrame(rows)
    print(f"trials per minute, median of {args.repeat} (tune, lightgbm, 5-fold CV, timeout {args.timeout:g} s; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end)")
    for name, sub in df.groupby("dataset", sort=False):
        med = {m: {c: statistics.median(sub.loc[sub["mode"] == m, c]) for c in ("per_min", "cores", "per_cpu_min")}
               for m in modes}
        print(f"{name} ({int(sub['rows'].iloc[0])} rows): "
              + ", ".join(f"{m} {v['per_min']:.1f}/min ({v['cores']:.2f} cores, {v['per_cpu_min']:.1f}/CPU-min)"
                          for m, v in med.items())
              + f"; ratio 2 processes / 1 job {med['2 processes']['per_min'] / med['1 job']['per_min']:.2f}, "
              f"2 threads / 1 job {med['2 threads']['per_min'] / med['1 job']['per_min']:.2f}")
    print("cores = CPU seconds of the call / its wall seconds: what the mode got of the machine; trials per "
          "CPU-minute: its overhead (equal = no extra cost per trial)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
