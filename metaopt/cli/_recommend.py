"""``metaopt recommend DATA --target COL``: the configurations to try first on a dataset."""

from __future__ import annotations

import argparse
import json
import numbers
import sys


def learner_arg(value: str) -> str:
    """argparse ``type`` of ``--learner``: 'auto' or an offered learner; says why another is refused."""
    from metaopt.exceptions import ConfigError
    from metaopt.learners import check_offered

    if value != "auto":
        try:
            check_offered(value)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def kind_choices() -> list[str]:
    """``--kind``'s choices: the task kinds, and "classification" (binary or multiclass by the classes)."""
    from metaopt.core import TASK_KINDS

    return [*TASK_KINDS, "classification"]


def add_row_key_args(p: argparse.ArgumentParser) -> None:
    """``--groups`` and ``--time-column``, as ``tune`` and ``recommend`` take them: the same options give the
    same features, the same folds and the same table schema (how an own study is found)."""
    p.add_argument("--groups", metavar="COL", help="column whose rows belong together (a patient): no group is "
                                                   "split between training and test folds; not a feature")
    p.add_argument("--time-column", metavar="COL", help="column of times (numbers, dates): folds fit earlier rows")


def learner_metavar() -> str:
    from metaopt.learners import list_learners

    return "{" + ",".join(["auto", *list_learners()]) + "}"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "recommend",
        help="recommend a learner and configurations to try first",
        description="Rank learners and configurations for a dataset from the knowledge base "
                    "(meta-learned; see docs/metamodel.md).",
    )
    p.add_argument("data", help="CSV/TSV/Parquet/ARFF file (- for standard input), openml:<data id> or "
                   "openml-task:<task id>")
    p.add_argument("--target", "-t", help="target column (default: the file's default target or last column)")
    p.add_argument("--kind", choices=kind_choices(), help="override the inferred task kind")
    # --k as in `tune` and `benchmark lodo`; without it argparse read `--k 8` as an abbreviation of --kb
    p.add_argument("-k", "--k", type=int, default=5, help="number of configurations (default 5)")
    p.add_argument("--learner", default="auto", type=learner_arg, metavar=learner_metavar(),
                   help="learner to recommend configurations of (default auto: all of them, ranked jointly)")
    p.add_argument("--time-budget", type=float, metavar="S", help="seconds one fit may take")
    p.add_argument("--kb", metavar="DIR", help="knowledge-base directory (default: the shipped one)")
    add_row_key_args(p)  # the probes' folds, and the features and schema of a table tuned with them
    p.add_argument("--storage", metavar="URL",
                   help="Optuna storage URL or .db file that 'metaopt tune --storage' wrote: the best trial of its "
                        "studies on a table with these columns and target comes first")
    p.add_argument("--probe", type=int, default=0, metavar="N",
                   help="cross-validate N configurations on 2 folds of the data and return them first, best first: "
                        "with N >= -k the k best of the KB portfolio's first N, else the ranking's first N reordered "
                        "(fits models; default 0: no probe)")
    p.add_argument("--jobs", type=int, default=1, metavar="J",
                   help="configurations probed at once, one thread per fit (default 1)")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=run)


def _fmt_time(t) -> str:
    if t is None:
        return "?"
    return f"{t:.2g}s" if t < 10 else f"{t:.0f}s"


def _fmt_value(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def _fmt_params(r) -> str:
    """``name=value``; a value set for this dataset also shows the KB configuration's value."""
    out = []
    for k, v in r.params.items():
        text = f"{k}={_fmt_value(v)}"
        if k in r.adapted:
            old = r.adapted[k][0]
            text += f" (KB: {'default' if old is None else _fmt_value(old)})"
        out.append(text)
    return ", ".join(out)


def _check_options(args: argparse.Namespace) -> None:
    """The counts, checked before the data are loaded: one line naming the option (``recommend`` checks them
    again, naming its arguments)."""
    from metaopt.utils import check_scalar

    for option, value, least in (("-k", args.k, 1), ("--probe", args.probe, 0), ("--jobs", args.jobs, 1)):
        check_scalar(value, option, numbers.Integral, min_val=least)


def run(args: argparse.Namespace) -> int:
    from metaopt import recommend
    from metaopt.data import load_data

    from metaopt.cli import warnings_as_lines

    _check_options(args)
    with warnings_as_lines() as said:
        ds = load_data(args.data, target=args.target, kind=args.kind, groups=args.groups,
                       time_column=args.time_column)
        recs = recommend(ds, learner=args.learner, k=args.k, time_budget=args.time_budget, kb=args.kb,
                         probe=args.probe, n_jobs=args.jobs, storage=args.storage)
    # e.g. rows dropped for a missing target, an integer target taken as numbers, a column left out as an id
    notes = [*ds.essential_notes, *(n for n in ds.notes if n.startswith("dropped id-like"))]
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if args.json:  # the notes and warnings too, as tune --json has them: a script may never see stderr
        json.dump({"dataset": ds.name, "target": ds.target, "kind": ds.kind,
                   "notes": list(dict.fromkeys([*notes, *said])),
                   "recommendations": [r.to_dict() for r in recs]}, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    _print_table(ds, recs, args.probe, args.k)
    return 0


def _print_table(ds, recs, probe: int = 0, k: int = 5) -> None:
    print(f"{ds.name}: {ds.n_rows} rows x {ds.n_features} features, target {ds.target!r} ({ds.kind})")
    ranked = [r for r in recs if r.own_study is None] or recs  # the meta-model's: whose neighbours to show
    if ranked and ranked[0].similar_tasks:
        print("most similar KB tasks: " + ", ".join(f"{s['name']} (d={s['distance']:.2f})"
                                                     for s in ranked[0].similar_tasks))
    far = bool(ranked) and ranked[0].far_from_kb
    if far:
        print("note: " + ranked[0].rationale.split(" Position ")[0])
    w_why = max([len("why")] + [len(r.reason) for r in recs])
    w_cfg = max([len("config")] + [len(r.config_id) for r in recs])
    header = (f"{'#':>2}  {'learner':<13} {'config':<{w_cfg}} {'score':>10} {'fit':>7}  {'why':<{w_why}}  "
              "params")
    print(header)
    print("-" * len(header))
    for r in recs:
        score = f"{r.predicted_score:.2f}±{r.predicted_score_std:.2f}"
        print(f"{r.rank:>2}  {r.learner:<13} {r.config_id:<{w_cfg}} {score:>10} "
              f"{_fmt_time(r.predicted_fit_time_s):>7}  {r.reason:<{w_why}}  {_fmt_params(r)}")
    first = ("#1 is the best on average over all KB tasks" if far else
             "#1 has the best blend of its scores on the most similar KB tasks and the surrogate's prediction")
    order = f"a portfolio, not sorted by score: {first}; each next one adds the most where those above it are weak"
    n_own = sum(r.own_study is not None for r in recs)
    if n_own and n_own < len(recs):
        order = (f"the best trial of your own study first; then {order.replace('#1', f'#{n_own + 1}', 1)}"
                 .replace("; each next", ", each next"))
    elif n_own:
        order = "the best trial of your own study"
    if ranked and ranked[0].probe_score is not None:
        from metaopt.recommender import PROBE_FOLDS, probes_portfolio

        unprobed = any(r.probe_score is None and r.own_study is None for r in recs)
        order = (f"{'the best trial of your own study first; then ' if n_own else ''}the probed ones by their "
                 f"scores on {PROBE_FOLDS} folds of this data, best first (--probe); the probed are the "
                 f"{'KB portfolio' if probes_portfolio(k, probe) else 'ranking'}'s first {probe}"
                 f"{'; the rest as the ranking orders them' if unprobed else ''}")
    print(f"order: {order}")
    print("score: predicted normalised score (1 = best configuration of the KB pool on a task, 0 = worst) "
          "± uncertainty; fit: predicted seconds per fit")
    if any(r.own_study for r in recs):
        print("your study: the best trial of your own studies on a table with these columns and target "
              "(kb add-study, or --storage) comes first; its score is among those studies' trials (1 = the best)")
    if any(r.adapted for r in recs):
        print(f"(KB: ...): value set for this dataset ({ds.n_rows} rows) instead of the KB configuration's - "
              "minimum leaf sizes capped so a training fold can grow a few leaves, values written inside the "
              "search space")
