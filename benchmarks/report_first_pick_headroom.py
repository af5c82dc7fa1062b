"""How far a better first pick could go on the collection split (issue #13): the bar against oracles.

Issue #13 asks metaopt's first LightGBM pick to be 15% below the static portfolio's with a collection
held out.  This report says what that asks for.  Per held-out collection, mean normalised regret at k=1:

* the static portfolio's first configuration (fitted on the training collections) and the single
  configuration best *on the held-out tasks themselves* (hindsight: no data-blind choice does better);
* metaopt's first pick, mean and spread over ``--seeds``;
* two oracles that bound what any re-ranking could reach: a perfect per-task choice between metaopt's
  and the static portfolio's first picks (the best any gate between them can do), and a perfect choice
  among the N configurations best on average over the training tasks;
* a selector learned for exactly that choice: per candidate of those N, a random forest regressing its
  regret on the training tasks' scaled meta-features and kind; the first pick is the lowest predicted,
  plain and gated (it leaves the first candidate only where it predicts a gain above ``--margin``).

    python benchmarks/report_first_pick_headroom.py                  # ~3 min on 2 cores
    python benchmarks/report_first_pick_headroom.py --kb KB --seeds 0,1,2,3 --top 2,3,5,10
"""

from __future__ import annotations

import argparse
import functools
import sys

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor

from metaopt.kb import KnowledgeBase
from metaopt.metamodel import (MetaFeatureSpace, MetaoptModel, Query, StaticPortfolio, build_score_matrix,
                               candidates, lodo, make_folds, normalise_scores)
from metaopt.metamodel._normalise import HIGHER_IS_BETTER

KINDS = ("binary", "multiclass", "regression")


def _regrets(sm, tasks) -> pd.DataFrame:
    """task x configuration normalised regret over each task's own candidate pool, as ``lodo`` scores it
    (a configuration the task has no score for: 1)."""
    rows = {}
    for t in tasks:
        pool = candidates(sm, str(sm.tasks.at[t, "kind"]), Query.from_task(sm, t).pool)
        raw = sm.raw.loc[t, pool].to_numpy(dtype="float64")
        rows[t] = pd.Series(1.0 - normalise_scores(raw, HIGHER_IS_BETTER[sm.metric[t]], "minmax")[0], index=pool)
    return pd.DataFrame(rows).T.fillna(1.0)


def _features(space: MetaFeatureSpace, sm, tasks) -> np.ndarray:
    kind = pd.get_dummies(sm.tasks.loc[list(tasks), "kind"]).reindex(columns=list(KINDS), fill_value=0)
    return np.hstack([np.nan_to_num(space.transform(sm.meta.loc[list(tasks)])), kind.to_numpy(dtype="float64")])


def _groups(sm, tasks) -> dict[tuple, list[str]]:
    """Tasks by candidate configurations: a selector compares the configurations of one pool (the kinds'
    pools of one builder share them; the task's kind is one of the selector's features)."""
    out: dict[tuple, list[str]] = {}
    for t in tasks:
        kind = str(sm.tasks.at[t, "kind"])
        out.setdefault(tuple(sorted(candidates(sm, kind, Query.from_task(sm, t).pool))), []).append(t)
    return out


def _selector_rows(sm, fold, regrets: pd.DataFrame, tops: list[int], margin: float, seed: int) -> list[dict]:
    """Per-pool hindsight, the oracle and the learned selector among the training tasks' N best on average
    (``regrets``: the held-out tasks' :func:`_regrets`)."""
    picked: dict[str, list[np.ndarray]] = {}
    for pool, tasks in _groups(sm, regrets.index).items():
        train = [t for t in fold.train if sm.raw.loc[t, list(pool)].notna().all()]
        if not train:
            continue
        reg_held, reg_train = regrets.loc[tasks, list(pool)], _regrets(sm, train)
        picked.setdefault("best single configuration per pool in hindsight", []).append(
            reg_held[reg_held.mean().idxmin()].to_numpy())
        order = reg_train[list(pool)].mean().sort_values().index
        space = MetaFeatureSpace().fit(sm.meta.loc[train])
        x_train, x_held = _features(space, sm, train), _features(space, sm, tasks)
        for n in tops:
            top = list(order[:n])
            truth = reg_held[top].to_numpy()
            pred = np.column_stack([
                RandomForestRegressor(300, min_samples_leaf=5, random_state=seed, n_jobs=1)
                .fit(x_train, reg_train[c].fillna(reg_train[c].mean())).predict(x_held) for c in top])
            pick = pred.argmin(axis=1)
            gated = np.where(pred[:, 0] - pred.min(axis=1) > margin, pick, 0)
            at = np.arange(len(truth))
            picked.setdefault(f"oracle among the training's top {n}", []).append(truth.min(axis=1))
            picked.setdefault(f"selector among the top {n}", []).append(truth[at, pick])
            picked.setdefault(f"selector among the top {n}, gated", []).append(truth[at, gated])
    return [{"fold": fold.name, "row": row, "regret": float(np.concatenate(v).mean())} for row, v in picked.items()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kb", help="knowledge-base directory (default: the shipped one)")
    ap.add_argument("--seeds", default="0,1,2,3", help="metaopt's seeds (default 0,1,2,3)")
    ap.add_argument("--top", default="2,3,5,10", help="sizes N of the candidate sets (default 2,3,5,10)")
    ap.add_argument("--margin", type=float, default=0.05, help="the gated selector's predicted gain (default 0.05)")
    ap.add_argument("--jobs", type=int, default=2, help="folds fitted in parallel (default 2)")
    ap.add_argument("--out", help="write the table as CSV here")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    tops = [int(n) for n in args.top.split(",")]
    sm = build_score_matrix(KnowledgeBase.load(args.kb), "lightgbm").pooled_tasks()
    folds = [f for f in make_folds(sm, "collection") if f.held_out]

    runs = [lodo(sm, {"metaopt": functools.partial(MetaoptModel, random_state=s), "static portfolio": StaticPortfolio},
                 ks=(1,), split=folds, n_jobs=args.jobs, baselines=False).assign(seed=s) for s in seeds]
    res = pd.concat(runs, ignore_index=True)
    rows: list[dict] = []
    for fold in folds:
        sub = res[res["fold"] == fold.name]
        static = sub[(sub["method"] == "static portfolio") & (sub["seed"] == seeds[0])].set_index("task_id")["regret"]
        meta = sub[sub["method"] == "metaopt"].pivot(index="task_id", columns="seed", values="regret").reindex(static.index)
        gate = np.minimum(meta.to_numpy(), static.to_numpy()[:, None]).mean(axis=0)
        reg_held = _regrets(sm, static.index)
        best = reg_held.mean().sort_values()
        rows += [{"fold": fold.name, "row": "static portfolio", "regret": static.mean()},
                 {"fold": fold.name, "row": "best single configuration in hindsight"
                  + (f" ({best.index[0]})" if len(best) else ""), "regret": best.iloc[0] if len(best) else np.nan},
                 {"fold": fold.name, "row": "bar: 15% below static", "regret": 0.85 * static.mean()},
                 {"fold": fold.name, "row": "metaopt", "regret": meta.mean().mean(), "std": meta.mean().std()},
                 {"fold": fold.name, "row": "oracle gate: the better of metaopt's and static's first pick",
                  "regret": gate.mean(), "std": gate.std(ddof=1) if len(gate) > 1 else np.nan}]
        rows += _selector_rows(sm, fold, reg_held, tops, args.margin, seeds[0])
        print(f"{fold.name}: {len(static)} held-out tasks", file=sys.stderr)
    table = pd.DataFrame(rows)
    if args.out:
        table.to_csv(args.out, index=False)
    for fold, sub in table.groupby("fold", sort=False):
        print(f"\n## {fold} held out (k=1, mean normalised regret)\n")
        print("| first pick | regret | std |\n|---|---|---|")
        for r in sub.itertuples():
            std = "" if pd.isna(getattr(r, "std", np.nan)) else f"{r.std:.4f}"
            print(f"| {r.row} | {r.regret:.4f} | {std} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
