"""Learning curve of the meta-models: LODO regret with a random fraction of the training tasks.

Does more KB data still help, and where does it saturate?  For each fraction and seeded
draw every fold of a split keeps that fraction of its training tasks
(:func:`~metaopt.metamodel._splits.subsample`); the held-out tasks are the same in every draw.
A fraction of 1 has one draw (nothing is random).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from metaopt.exceptions import ConfigError
from metaopt.metamodel._base import MetaModel
from metaopt.metamodel._lodo import DEFAULT_KS, lodo
from metaopt.metamodel._normalise import ScoreMatrix
from metaopt.metamodel._splits import Fold, make_folds, subsample


def learning_curve(sm: ScoreMatrix, methods: dict[str, Callable[[], MetaModel]], fractions: Sequence[float],
                   draws: int = 3, split: str | Sequence[Fold] = "group", ks: Sequence[int] = DEFAULT_KS,
                   progress: Callable[[str], None] | None = None, n_jobs: int = 1) -> pd.DataFrame:
    """:func:`~metaopt.metamodel.lodo`'s rows for every (fraction, draw), with ``fraction`` and ``draw`` columns.

    ``split``: a split's name or its folds (e.g. :func:`~metaopt.metamodel._splits.sample_folds`'d).

    ``attrs["runs"]`` maps ``"<fraction>/<draw>"`` to that run's :func:`lodo` ``attrs``.
    """
    if draws < 1:
        raise ConfigError(f"--draws must be at least 1, got {draws}")
    folds = make_folds(sm, split) if isinstance(split, str) else list(split)
    parts, runs = [], {}
    for fraction in sorted(set(float(f) for f in fractions)):
        for draw in range(1 if fraction == 1 else draws):
            if progress is not None:
                progress(f"training fraction {fraction:g}, draw {draw + 1}")
            res = lodo(sm, methods, ks, progress=progress, n_jobs=n_jobs,
                       split=subsample(sm, folds, fraction, seed=draw))
            runs[f"{fraction:g}/{draw}"] = dict(res.attrs)
            parts.append(res.assign(fraction=fraction, draw=draw))
    out = pd.concat(parts, ignore_index=True)
    out.attrs = {"runs": runs}
    return out


def curve_summary(res: pd.DataFrame, by: str | None = None, ks: Sequence[int] = (1, 5)) -> pd.DataFrame:
    """Mean regret over tasks per draw, then its mean and std over draws.

    One row per (``by`` value or ``all``, method, fraction): ``tasks``, ``draws`` and per k in
    ``ks`` columns ``k<k>`` (mean) and ``k<k>_std`` (std over draws; 0 with one draw).
    """
    res = res[res["k"].isin(ks)]
    keys = [by] if by else []
    frame = res if by else res.assign(_all="all")
    keys = keys or ["_all"]
    per_draw = frame.pivot_table(index=keys + ["method", "fraction", "draw"], columns="k", values="regret",
                                 aggfunc="mean")
    tasks = frame.groupby(keys + ["method", "fraction"])["task_id"].nunique()
    g = per_draw.groupby(level=keys + ["method", "fraction"])
    mean, std = g.mean(), g.std(ddof=0)
    out = pd.DataFrame({"tasks": tasks, "draws": g.size()})
    for k in ks:
        if k in mean.columns:
            out[f"k{k}"] = mean[k]
            out[f"k{k}_std"] = std[k]
    out = out.reset_index()
    return out.rename(columns={"_all": "held out"} if not by else {by: "held out"})
