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
    q.add_argument("--quick", action="store_true", help="only metaopt and the baselines (no model ablations)")
    q.add_argument("--jobs", type=int, default=1, metavar="N", help="held-out tasks in N processes (default 1)")
    q.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    q.set_defaults(func=run_lodo)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _paired_interval(res, k: int, n_boot: int = 2000) -> tuple[float, float]:
    """90% bootstrap interval (over tasks) of 1 - regret(metaopt) / regret(static portfolio)."""
    import numpy as np

    sub = res[res["k"] == k].pivot_table(index="task_id", columns="method", values="regret")
    a, b = sub["metaopt"].to_numpy(), sub["static portfolio"].to_numpy()
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(a), (n_boot, len(a)))
    ratio = 1 - a[idx].mean(axis=1) / np.maximum(b[idx].mean(axis=1), 1e-12)
    return float(np.quantile(ratio, 0.05)), float(np.quantile(ratio, 0.95))


def render(summary: pd.DataFrame, rank_summary: pd.DataFrame, learner: str, n_tasks: int, seconds: float,
           res: pd.DataFrame | None = None) -> str:
    ks = [c for c in summary.columns if isinstance(c, int)]
    lines = [f"# LODO benchmark: {learner}", "",
             f"{n_tasks} held-out tasks; each with its dataset group removed before fitting; {seconds:.0f} s.",
             "Normalised regret = (best - best of the k chosen) / (best - worst) on the held-out task's pool "
             "(0 = best found). Library default is one configuration (same value at every k); random is the "
             "exact expectation over k-subsets.", ""]
    for title, tab in (("Mean normalised regret", summary), ("Mean rank of the best chosen (1 = best)", rank_summary)):
        lines += [f"## {title}", "", "| kind | method | tasks | " + " | ".join(f"k={k}" for k in ks) + " |",
                  "|---|---|---|" + "---|" * len(ks)]
        for _, r in tab.iterrows():
            lines.append(f"| {r['kind']} | {r['method']} | {int(r['tasks'])} | "
                         + " | ".join(f"{r[k]:.4f}" if title.startswith("Mean norm") else f"{r[k]:.1f}" for k in ks)
                         + " |")
        lines.append("")
    # the bar of the issue
    allrows = summary[summary["kind"] == "all"].set_index("method")
    if res is not None and {"metaopt", "static portfolio", "library default"} <= set(allrows.index):
        lines += ["## Bar: metaopt vs baselines (all tasks)", ""]
        for k in (1, 5):
            if k not in ks:
                continue
            m, s, d = (allrows.at[x, k] for x in ("metaopt", "static portfolio", "library default"))
            rs = 1 - m / s if s > 0 else float("nan")
            rd = 1 - m / d if d > 0 else float("nan")
            lo, hi = _paired_interval(res, k)
            lines.append(f"* k={k}: metaopt {m:.4f}; {rs:.0%} lower than the static portfolio ({s:.4f}; paired "
                         f"bootstrap 90% interval of the reduction {lo:.0%} to {hi:.0%}; bar >= 15%: "
                         f"{'met' if rs >= 0.15 else 'NOT met'}), {rd:.0%} lower than the library default "
                         f"({d:.4f}; bar >= 50%: {'met' if rd >= 0.5 else 'NOT met'})")
        lines.append("")
    if res is not None and "pool" in res and {"metaopt", "static portfolio"} <= set(res["method"]):
        lines += ["## Per pool (the held-out task's kind and KB source): metaopt / static portfolio", "",
                  "| pool | tasks | " + " | ".join(f"k={k}" for k in ks) + " |", "|---|---|" + "---|" * len(ks)]
        for name, sub in res.groupby("pool"):
            tab = sub.pivot_table(index="method", columns="k", values="regret", aggfunc="mean")
            lines.append(f"| {name} | {sub['task_id'].nunique()} | " + " | ".join(
                f"{tab.at['metaopt', k]:.4f} / {tab.at['static portfolio', k]:.4f}" for k in ks) + " |")
        lines.append("")
    return "\n".join(lines)


def plot(summary: pd.DataFrame, path: str | Path) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    ks = [c for c in summary.columns if isinstance(c, int)]
    kinds = list(dict.fromkeys(summary["kind"]))
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.2 * len(kinds), 3.6), sharey=True, squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        sub = summary[summary["kind"] == kind]
        for _, r in sub.iterrows():
            ax.plot(ks, [r[k] for k in ks], marker="o", lw=2.2 if r["method"] == "metaopt" else 1.2,
                    label=r["method"])
        ax.set_xscale("log")
        ax.set_xticks(ks)
        ax.set_xticklabels([str(k) for k in ks])
        ax.set_title(f"{kind} ({int(sub['tasks'].max())} tasks)")
        ax.set_xlabel("k (configurations tried)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("mean normalised regret")
    axes[0][-1].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def run_lodo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from metaopt.exceptions import KnowledgeBaseError
    from metaopt.kb import KnowledgeBase
    from metaopt.metamodel import build_score_matrix, lodo, lodo_methods, summarise
    from metaopt.utils import check_scalar

    for k in args.k:
        check_scalar(k, "--k", numbers.Integral, min_val=1)
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
    check_scalar(args.jobs, "--jobs", numbers.Integral, min_val=1)
    single = sm.learners if args.learner == "auto" and len(sm.learners) > 1 else None
    res = lodo(sm, lodo_methods(args.quick, single), ks=args.k, progress=progress, n_jobs=args.jobs)
    seconds = time.perf_counter() - t0
    summary = summarise(res, "regret")
    ranks = summarise(res, "rank")
    text = render(summary, ranks, args.learner, res["task_id"].nunique(), seconds, res)
    print(text)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "lodo.md").write_text(text + "\n", encoding="utf-8")
        summary.to_csv(out / "lodo.csv", index=False)
        res.to_csv(out / "lodo_per_task.csv", index=False)
        if not plot(summary, out / "lodo.png"):
            print("matplotlib is not installed: no plot written (pip install matplotlib)", file=sys.stderr)
    return 0
