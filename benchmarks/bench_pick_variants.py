"""Alternatives to MetaoptModel's picks, measured on the collection split (issue #13).

For every fold of ``--split`` (default: collection; ``group`` takes a seeded sample of 60 dataset
groups) this fits once, on the fold's training tasks, what every variant shares (nearest tasks, the
surrogate, the static portfolio), then ranks each held-out task's pool under each variant and records
normalised regret at k = 1, 3, 5, 10:

* ``--part later``: the first pick as shipped, different rules for picks 2..k (even weights, the static
  order, interleaving, size-only neighbours, the surrogate as a pseudo-task, bagging, transforms);
* ``--part first``: risk-aware first picks (mean minus spread, CVaR, the KB's safest configuration);
* ``--part shrink``: whole rankings whose first pick leans towards the static portfolio's (a larger even
  share of the task weights, less surrogate, or both growing with the task's distance to the KB);
* ``--part space``: the shipped blend with neighbours and surrogate in smaller meta-feature spaces
  (rows, features and classes; those plus four shares) that might transfer better across fields;
* ``--part surrogate``: surrogates that learn the *order* of configurations within a task rather than
  their normalised scores (per-task percentile ranks as the target; LightGBM's lambdarank objective with
  one query group per task), alone and blended as shipped.
* ``--part adaptive``: picks that use the scores the earlier picks got on the new task, as a warm start
  observes them trial by trial: after each pick, the KB tasks are re-weighted by how well their order of
  the configurations tried so far agrees with the new task's (a ranking-agreement weight, as in Feurer et
  al.'s RGPE, 2018), and the next pick is the greedy best-of-set under those weights.  Picks 1 and 2 are
  the shipped (or static) ones; the held-out task's scores are read only for configurations already picked.

    python benchmarks/bench_pick_variants.py --part later                  # ~30 s on the shipped KB
    python benchmarks/bench_pick_variants.py --part first --learner auto

``shipped`` is the blend at the fixed even shares of MetaoptModel's defaults, except in ``--part shrink``,
where it is what ships now: the shares grown with the task's novelty on one-learner pools.
The numbers and what was kept are in docs/metamodel.md ("Out of distribution").
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from metaopt.kb import KnowledgeBase
from metaopt.metamodel import (MetaFeatureSpace, NearestTasks, Query, StaticPortfolio, Surrogate, blend_rank,
                               build_score_matrix, candidates, make_folds, next_pick, normalise_scores,
                               sample_folds)
from metaopt.metamodel._greedy import best_of_set, fill_unknown, unit_weights
from metaopt.metamodel._metaopt_model import _mix  # the shipped model's task weights
from metaopt.metamodel._normalise import HIGHER_IS_BETTER

KS = (1, 3, 5, 10)
SHIPPED = dict(prior=0.3, alpha=0.6, prior_rest=0.3)   # MetaoptModel's defaults (shrink_novel=False)
SIZE = ("NumberOfInstances", "NumberOfFeatures", "NumberOfClasses")
SMALL = SIZE + ("PercentageOfNumericFeatures", "mo_LogRowsPerFeature", "mo_ClassImbalanceRatio",
                "PercentageOfMissingValues")
SPACES = {"size": SIZE, "small": SMALL}   # --part space: names -> features (the full space is "full")


def later_variants(ctx: dict) -> dict[str, list[int]]:
    """Picks 2..k after the shipped first pick."""
    p, p_all, w_nn, w_sz, s_mean, st = ctx["p"], ctx["p_all"], ctx["w_nn"], ctx["w_sz"], ctx["s_mean"], ctx["static"]
    k = max(KS)
    shipped = blend_rank(p_all, w_nn, s_mean, k, **SHIPPED)
    first, w = shipped[0], _mix(w_nn, 0.3)
    blend = 0.4 * w @ p + 0.6 * np.nan_to_num(s_mean)
    out = {"shipped": shipped, "static": st,
           "rest=1.0": blend_rank(p_all, w_nn, s_mean, k, 0.3, 0.6, 1.0),
           "first+static": [first] + [j for j in st if j != first],
           "blend-topk": list(np.argsort(-blend, kind="stable")[:k])}
    inter: list[int] = []
    for a, b in zip(np.argsort(-blend, kind="stable"), st):
        inter += [j for j in (int(a), b) if j not in inter]
    out["interleave"] = inter[:k]
    for share in (0.3, 0.6):
        out[f"size-nn rest={share}"] = best_of_set(p, _mix(w_sz, share), k, first=first)
    out["size-nn all"] = blend_rank(p_all, w_sz, s_mean, k, **SHIPPED)
    s = np.nan_to_num(s_mean)
    s = (s - s.min()) / max(s.max() - s.min(), 1e-12)
    for beta in (0.1, 0.3):
        out[f"surrogate task {beta}"] = best_of_set(np.vstack([p, s]), np.append((1 - beta) * w, beta), k,
                                                    first=first)
    out["bagged greedy"] = _bagged(p, w, first, k)
    for g in (0.5, 2.0):
        out[f"score^{g}"] = best_of_set(p ** g, w, k, first=first)
    ranks = pd.DataFrame(p).rank(axis=1, pct=True).to_numpy()
    out["per-task ranks"] = best_of_set(ranks, w, k, first=first)
    return out


def adaptive_variants(ctx: dict) -> dict[str, list[int]]:
    """Picks 3..k re-weighted by the agreement of each KB task with the scores observed so far."""
    p, p_all, w_nn, s_mean, st, truth = ctx["p"], ctx["p_all"], ctx["w_nn"], ctx["s_mean"], ctx["static"], ctx["truth"]
    k = max(KS)
    share = max(0.3, ctx["far"]) if ctx["one_learner"] else 0.3
    shipped = blend_rank(p_all, w_nn, s_mean, k, share, 0.6, share)  # what MetaoptModel ships
    out = {"shipped": shipped, "static": st}
    even = np.full(len(p), 1.0 / len(p))
    hedge = [shipped[0]] + [j for j in st if j != shipped[0]][:1]
    starts = {"shipped": (shipped[:2], _mix(w_nn, share)), "static": (st[:2], even),
              "shipped + static": (hedge, _mix(w_nn, share))}
    for start, (base, w_model) in starts.items():
        for beta in (1.0, 2.0, 4.0):
            for prior_name, w0 in (("model", w_model), ("even", even)):
                if start == "static" and prior_name == "model":
                    continue
                out[f"adaptive from {start}, beta {beta}, {prior_name}"] = _adaptive(p, w0, base, truth, k, beta)
    return out


def _adaptive(p: np.ndarray, w0: np.ndarray, start: list[int], truth: np.ndarray, k: int, beta: float) -> list[int]:
    """Greedy best-of-set whose task weights fall by ``exp(-beta x discordant pairs)`` with the observed scores
    (metaopt's rule, :func:`metaopt.metamodel.next_pick`, with the prior ``w0``)."""
    chosen = [int(j) for j in start]
    while len(chosen) < min(k, p.shape[1]):
        chosen.append(next_pick(p, chosen, truth[chosen], beta=beta, prior=w0))
    return chosen


def _bagged(p: np.ndarray, w: np.ndarray, first: int, k: int, draws: int = 5) -> list[int]:
    """Each step adds the configuration the greedy step picks most often over bootstrap task draws."""
    rng = np.random.default_rng(0)
    n = len(p)
    bags = [rng.multinomial(n, np.full(n, 1 / n)) for _ in range(draws)]
    chosen, cur = [first], p[:, first].copy()
    while len(chosen) < min(k, p.shape[1]):
        votes = np.zeros(p.shape[1])
        for b in bags:
            wb = w * b
            gain = (wb / wb.sum()) @ np.maximum(cur[:, None], p)
            gain[chosen] = -np.inf
            votes[int(np.argmax(gain))] += 1
        votes[chosen] = -1
        j = int(np.argmax(votes))
        chosen.append(j)
        cur = np.maximum(cur, p[:, j])
    return chosen


def first_variants(ctx: dict) -> dict[str, list[int]]:
    """First picks that weigh the risk of a bad score, not only the expected one."""
    p, w_nn, s_mean, s_std = ctx["p"], ctx["w_nn"], np.nan_to_num(ctx["s_mean"]), np.nan_to_num(ctx["s_std"])
    w = _mix(w_nn, 0.3)
    mean = w @ p
    spread = np.sqrt(w @ (p - mean) ** 2)
    blend = 0.4 * mean + 0.6 * s_mean
    out = {"shipped": [int(np.argmax(blend))], "static first": [int(np.argmax(p.mean(axis=0)))],
           "safest in the KB (10% quantile)": [int(np.argmax(np.quantile(p, 0.1, axis=0)))]}
    for lam in (0.25, 0.5, 1.0):
        out[f"blend - {lam} x neighbours' spread"] = [int(np.argmax(blend - lam * spread))]
        out[f"blend - {lam} x surrogate's spread"] = [int(np.argmax(blend - lam * s_std))]
    cvar = _weighted_cvar(p, w, 0.25)
    for a in (0.25, 0.5):
        out[f"blend + {a} x CVaR25"] = [int(np.argmax((1 - a) * blend + a * cvar))]
    return out


def shrink_variants(ctx: dict) -> dict[str, list[int]]:
    """Rankings whose first pick shrinks towards the KB-wide mean (the static portfolio's first pick).

    ``far`` is the share of the KB's own tasks whose nearest other task is closer than this task's
    nearest KB task: 0 for a task in the KB's densest region, 1 for one further out than any KB task.
    """
    p_all, w_nn, s_mean, st, far = ctx["p_all"], ctx["w_nn"], ctx["s_mean"], ctx["static"], ctx["far"]
    k = max(KS)
    fixed = blend_rank(p_all, w_nn, s_mean, k, **SHIPPED)
    by_novelty = blend_rank(p_all, w_nn, s_mean, k, max(0.3, far), 0.6, max(0.3, far))
    # what MetaoptModel ships: shares by novelty where the pool holds one learner (even_shares)
    out = {"shipped": by_novelty if ctx["one_learner"] else fixed, "fixed shares": fixed, "static": st}
    p = fill_unknown(p_all)
    out["static first, shipped later"] = best_of_set(p, _mix(unit_weights(w_nn, len(p)), 0.3), k, first=st[0])
    for prior in (0.5, 0.7, 1.0):
        out[f"prior={prior}"] = blend_rank(p_all, w_nn, s_mean, k, prior, 0.6, 0.3)
    for alpha in (0.3, 0.0):
        out[f"alpha={alpha}"] = blend_rank(p_all, w_nn, s_mean, k, 0.3, alpha, 0.3)
    out["prior=0.7 alpha=0.3"] = blend_rank(p_all, w_nn, s_mean, k, 0.7, 0.3, 0.3)
    out["prior=1.0 alpha=0.3"] = blend_rank(p_all, w_nn, s_mean, k, 1.0, 0.3, 0.3)
    out["prior=1.0 alpha=0.0"] = blend_rank(p_all, w_nn, s_mean, k, 1.0, 0.0, 0.3)
    out["rest=1.0"] = blend_rank(p_all, w_nn, s_mean, k, 0.3, 0.6, 1.0)
    out["prior=0.7 rest=1.0"] = blend_rank(p_all, w_nn, s_mean, k, 0.7, 0.6, 1.0)
    out["prior by distance"] = blend_rank(p_all, w_nn, s_mean, k, max(0.3, far), 0.6, 0.3)
    out["prior, alpha by distance"] = blend_rank(p_all, w_nn, s_mean, k, max(0.3, far), 0.6 * (1 - far), 0.3)
    out["prior, rest by distance"] = by_novelty
    # the static portfolio's first configuration for novel tasks only (a gate on the novelty)
    for gate in (0.5, 0.8):
        out[f"static first if novelty >= {gate}"] = out["static first, shipped later"] \
            if ctx["one_learner"] and far >= gate else out["shipped"]
    # the blend's first pick restricted to the configurations best on average across the KB
    w = _mix(unit_weights(w_nn, len(p)), _shipped_share(ctx))
    first = 0.4 * (w @ p) + 0.6 * np.nan_to_num(np.asarray(s_mean, dtype="float64"))
    by_kb_mean = np.argsort(-p.mean(axis=0), kind="stable")
    for top in (3, 10, 30):
        allowed = by_kb_mean[:top]
        out[f"first among the KB's top {top}"] = best_of_set(p, w, k, first=int(allowed[np.argmax(first[allowed])]))
    return out


def _shipped_share(ctx: dict) -> float:
    """MetaoptModel.even_shares as shipped: grown to the novelty on one-learner pools, else the fixed 0.3."""
    return max(0.3, ctx["far"]) if ctx["one_learner"] else 0.3


def space_variants(ctx: dict) -> dict[str, list[int]]:
    """The shipped blend (and two other settings) with neighbours and surrogate in each space."""
    k = max(KS)
    out = {"shipped": blend_rank(ctx["p_all"], ctx["w_nn"], ctx["s_mean"], k, **SHIPPED), "static": ctx["static"]}
    for space, (w10, w30, s_mean) in ctx["spaces"].items():
        for nn, w in (("nn10", w10), ("nn30", w30)):
            for prior, alpha in ((0.3, 0.6), (0.3, 0.0), (0.6, 0.3)):
                out[f"{space} {nn} prior={prior} alpha={alpha}"] = blend_rank(ctx["p_all"], w, s_mean, k,
                                                                              prior, alpha, 0.3)
        out[f"{space} surrogate only"] = blend_rank(ctx["p_all"], w10, s_mean, k, 0.3, 1.0, 0.3)
    return out


class PercentileSurrogate(Surrogate):
    """The surrogate trained on each task's percentile ranks of its configurations (a ranking target)."""

    def _target(self, sm):
        return sm.norm.rank(axis=1, pct=True).to_numpy()


class LambdaRankSurrogate(Surrogate):
    """The surrogate as a LightGBM ranker (lambdarank, one query group per task; labels: score deciles)."""

    def _fit_one(self, X, y, tasks, m):
        import lightgbm as lgb

        order = np.argsort(tasks, kind="stable")   # groups must be contiguous
        _, sizes = np.unique(tasks[order], return_counts=True)
        model = lgb.LGBMRanker(n_estimators=self.n_estimators, learning_rate=0.05, num_leaves=15,
                               min_child_samples=20, subsample=0.8, subsample_freq=1, colsample_bytree=0.8,
                               random_state=self.random_state + m, n_jobs=1, verbose=-1)
        model.fit(X[order], np.floor(np.clip(y[order], 0, 1) * 10).astype(int), group=sizes)
        return model.booster_  # Booster.predict: raw ranking scores


def _matched(scores: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``scores`` mapped monotonically onto the values of ``like`` (so a blend weighs them on one scale)."""
    out = np.empty_like(like)
    out[np.argsort(scores, kind="stable")] = np.sort(np.nan_to_num(like))
    return out


def surrogate_variants(ctx: dict) -> dict[str, list[int]]:
    """Each surrogate alone and blended (shares as shipped: grown to the novelty on one-learner pools)."""
    k = max(KS)
    share = _shipped_share(ctx)
    out = {"static": ctx["static"]}
    for name, s in ctx["surrogates"].items():
        s = s if name == "regression" else _matched(s, ctx["surrogates"]["regression"])
        out["shipped" if name == "regression" else f"{name}: blend"] = \
            blend_rank(ctx["p_all"], ctx["w_nn"], s, k, share, 0.6, share)
        out[f"{name}: alone"] = blend_rank(ctx["p_all"], ctx["w_nn"], s, k, share, 1.0, share)
    return out


def _space_models(train) -> dict[str, tuple]:
    """Per meta-feature space: 10 and 30 nearest tasks and the surrogate, fitted on ``train``."""
    out = {}
    for name, feats in {"full": None, **SPACES}.items():
        space = None if feats is None else MetaFeatureSpace(features=feats)
        out[name] = (NearestTasks(n_neighbours=10, same_kind=True, space=space).fit(train),
                     NearestTasks(n_neighbours=30, same_kind=True, space=space).fit(train),
                     Surrogate(n_models=5, n_estimators=150, space=space).fit(train))
    return out


def _weighted_cvar(p: np.ndarray, w: np.ndarray, q: float) -> np.ndarray:
    """Per column: the weighted mean of its scores on the worst ``q`` (by weight) of the tasks."""
    out = np.empty(p.shape[1])
    for j in range(p.shape[1]):
        o = np.argsort(p[:, j])
        sel = o[np.cumsum(w[o]) <= q + 1e-12]
        sel = sel if len(sel) else o[:1]
        out[j] = np.average(p[sel, j], weights=w[sel])
    return out


def run(sm, folds, part: str) -> pd.DataFrame:
    variants = {"later": later_variants, "first": first_variants, "shrink": shrink_variants,
                "space": space_variants, "surrogate": surrogate_variants, "adaptive": adaptive_variants}[part]
    rows = []
    for fold in folds:
        train = sm.subset(fold.train)
        static = StaticPortfolio().fit(train)
        nn = NearestTasks(n_neighbours=10, same_kind=True).fit(train)
        nn_size = NearestTasks(n_neighbours=30, same_kind=True, space=MetaFeatureSpace(features=SIZE)).fit(train)
        surrogate = Surrogate(n_models=5, n_estimators=150).fit(train)
        spaces = _space_models(train) if part == "space" else {}
        surrogates = {"percentile target": PercentileSurrogate(n_models=5, n_estimators=150).fit(train),
                      "lambdarank": LambdaRankSurrogate(n_models=5, n_estimators=150).fit(train)} \
            if part == "surrogate" else {}
        for t in fold.held_out:
            q = Query.from_task(sm, t)
            cand = candidates(sm, q.kind, q.pool)
            truth = normalise_scores(sm.raw.loc[t, cand].to_numpy(dtype="float64"), HIGHER_IS_BETTER[sm.metric[t]])[0]
            p_all = train.norm[cand].to_numpy()
            known = np.isfinite(p_all).any(axis=1)
            n = int(known.sum())
            s_mean, s_std = surrogate.predict(q)
            d = nn.distances(q)[known]
            d_min = float(d.min()) if len(d) and np.isfinite(d).any() else np.inf
            ctx = {"p_all": p_all[known], "p": fill_unknown(p_all[known]),
                   "w_nn": unit_weights(nn.task_weights(q, known)[known], n),
                   "w_sz": unit_weights(nn_size.task_weights(q, known)[known], n),
                   "s_mean": s_mean.reindex(cand).to_numpy(), "s_std": s_std.reindex(cand).to_numpy(),
                   "static": [cand.index(c) for c in static.rank(q, max(KS))],
                   "one_learner": len({c.split("::")[0] for c in cand}) == 1,
                   "truth": truth,  # the held-out task's scores: only --part adaptive reads them, of picks made
                   "far": float(np.mean(nn.reference_distances_ < d_min)) if len(nn.reference_distances_) else 0.0,
                   "spaces": {name: (unit_weights(m10.task_weights(q, known)[known], n),
                                     unit_weights(m30.task_weights(q, known)[known], n),
                                     sur.predict(q)[0].reindex(cand).to_numpy())
                              for name, (m10, m30, sur) in spaces.items()},
                   "surrogates": {"regression": s_mean.reindex(cand).to_numpy(),
                                  **{name: sur.predict(q)[0].reindex(cand).to_numpy()
                                     for name, sur in surrogates.items()}}}
            for name, idx in variants(ctx).items():
                best = [np.nanmax(truth[idx[:k]]) if len(idx) else np.nan for k in KS]
                rows.append({"task_id": t, "fold": fold.name, "kind": q.kind, "method": name,
                             "first_learner": cand[idx[0]].split("::")[0],
                             **{f"k={k}": 1.0 - b if np.isfinite(b) else 1.0 for k, b in zip(KS, best)}})
        print(f"{fold.name}: {len(fold.held_out)} tasks", file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def without_collection(sm, folds: list, collection: str) -> list:
    """The folds with ``collection``'s tasks dropped from training and held-out tasks alike."""
    from dataclasses import replace

    from metaopt.kb import task_collections

    coll = task_collections(sm.tasks)
    keep = {t for t in sm.task_ids if coll.get(t) != collection}
    return [replace(f, train=tuple(t for t in f.train if t in keep), held_out=tuple(t for t in f.held_out if t in keep))
            for f in folds]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["later", "first", "shrink", "space", "surrogate", "adaptive"], default="later")
    ap.add_argument("--learner", default="lightgbm", help="lightgbm (default), random_forest or auto")
    ap.add_argument("--split", choices=["collection", "group"], default="collection")
    ap.add_argument("--kb", help="knowledge-base directory (default: the shipped one)")
    ap.add_argument("--out", help="CSV of the per-task regrets")
    ap.add_argument("--without", metavar="COLLECTION",
                    help="drop this collection's tasks from every fold (training and held out): the inner, "
                         "nested selection for the outer fold that holds COLLECTION out")
    ap.add_argument("--max-folds", type=int, default=60, help="group split: a seeded sample of this many folds")
    args = ap.parse_args(argv)
    sm = build_score_matrix(KnowledgeBase.load(args.kb), None if args.learner == "auto" else args.learner)
    sm = sm.pooled_tasks()
    folds = make_folds(sm, args.split)
    if args.without:
        folds = without_collection(sm, folds, args.without)
    folds = [f for f in folds if f.held_out]
    if args.split == "group":
        folds = sample_folds(folds, args.max_folds)
    res = run(sm, folds, args.part)
    if args.out:
        res.to_csv(args.out, index=False)
    ks = {"first": ["k=1"], "space": ["k=1", "k=5"], "surrogate": ["k=1", "k=5"]}.get(args.part, [f"k={k}" for k in KS])
    # per held-out collection; on the group split one column: the mean over all sampled tasks
    tab = res.assign(fold=res["fold"] if args.split == "collection" else "group sample") \
        .pivot_table(index="method", columns="fold", values=ks, aggfunc="mean")
    print(tab.round(4).to_string())
    if args.learner == "auto":
        share = res[res["method"].notna()].groupby("method")["first_learner"].agg(
            lambda s: f"{(s == 'random_forest').mean():.0%}")
        print("\nfirst pick is random forest on:\n" + share.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
