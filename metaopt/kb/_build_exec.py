"""Running ``metaopt kb build``'s units: in this process, in joblib (loky) workers, or on a Dask cluster.

Results come back to the coordinating process (``on_result``), which alone writes part files;
every fit in a worker is single-threaded (``docs/knowledge_base.md``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from metaopt.exceptions import ConfigError
from metaopt.kb._build_units import Unit, run_unit


def execute_units(units: list[Unit], n_jobs: int, scheduler: Any, on_result: Callable[[dict[str, Any]], None],
                  desc: str, progress: bool) -> None:
    """Run ``units`` and hand each result to ``on_result`` as it arrives, with a progress bar ``desc``."""
    from tqdm.auto import tqdm

    if not units:
        return
    bar = tqdm(total=len(units), desc=desc, unit="unit", disable=not progress, mininterval=1.0,
               smoothing=0.05, dynamic_ncols=True)
    try:
        if scheduler is not None:
            _execute_dask(units, scheduler, on_result, bar)
        elif n_jobs == 1 or len(units) == 1:
            for u in units:
                on_result(run_unit(u))
                bar.update(1)
        else:
            from joblib import Parallel, delayed, parallel_config

            with parallel_config(backend="loky", inner_max_num_threads=1):
                gen = Parallel(n_jobs=n_jobs, return_as="generator_unordered", batch_size=1,
                               pre_dispatch="2*n_jobs")(delayed(run_unit)(u) for u in units)
                for res in gen:
                    on_result(res)
                    bar.update(1)
    finally:
        bar.close()


def _execute_dask(units: list[Unit], scheduler: Any, on_result: Callable[[dict[str, Any]], None], bar: Any) -> None:
    try:
        from dask.distributed import Client, as_completed
    except ImportError as exc:
        raise ConfigError("a Dask scheduler needs dask[distributed]: pip install 'metaopt[dask]'") from exc
    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler  # as_completed needs a default client
    try:
        futures = [client.submit(run_unit, u, pure=False, key=f"metaopt-unit-{i}-{uuid.uuid4().hex[:8]}")
                   for i, u in enumerate(units)]
        for fut in as_completed(futures):
            try:
                res = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker etc.
                res = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "tables": [], "unit": fut.key}
            on_result(res)
            bar.update(1)
            fut.release()
    finally:
        if own:
            client.close()
