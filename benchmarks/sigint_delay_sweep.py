"""Where a Ctrl-C lands in a `metaopt tune` worker, by its delay after the trial starts.

Sets up the study of `tests/tuning/test_workers.py`'s interrupt test (a finished trial, two slow random-forest
configurations waiting), starts one `metaopt tune --trials 1` worker, sends SIGINT ``delay`` seconds after the
trial is seen RUNNING with all its parameters, and prints the exit code, the trials' states, the trial's own
duration and the end of stderr.  A signal inside the cross-validation must give exit code 0 and a FAIL trial
(retried on resume); one after it lands in the final model's build.

    python benchmarks/sigint_delay_sweep.py 0.05 1 2 3            # about 15 s per delay
    python benchmarks/sigint_delay_sweep.py --once 0 0.3 1 2     # on credit-g once (the test before 0730750)
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "tuning"), str(ROOT / "tests")]


def main(argv: list[str]) -> int:
    import optuna

    from metaopt.tuning import tune
    from metaopt.warmstart import warm_start
    from test_workers import CREDIT_G, FAST, HEARTBEAT_ENV, SLOW, _cmd, _slow_data, _trials
    from tuning_support import start_process

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    once = "--once" in argv
    for delay in [float(x) for x in argv if x != "--once"]:
        folder = Path(tempfile.mkdtemp())
        data = CREDIT_G if once else _slow_data(folder)
        url = f"sqlite:///{folder}/f.db"
        first = tune(str(data), storage=url, study_name="f", n_trials=1, **dict(FAST, learner="random_forest"))
        warm_start(first.study, learner="random_forest", k=2, recommendations=[SLOW, dict(SLOW, min_samples_split=3)],
                   search_space=dict(first.study.trials[0].distributions))
        proc = start_process(_cmd(data, url, "f", learner="random_forest", trials=1), **HEARTBEAT_ENV)
        while (t := _trials(url, "f").get(1)) is None or t.state.name != "RUNNING" or len(t.params) < len(SLOW):
            time.sleep(0.02)
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate()
        states = _trials(url, "f")
        t = states[1]
        took = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete else None
        print(f"delay {delay:g} s: exit {proc.returncode}, states {({n: s.state.name for n, s in states.items()})}, "
              f"trial 1 took {took} s, stderr: {err.strip()[-300:]!r}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
