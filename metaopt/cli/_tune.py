"""``metaopt tune`` (warm-started search, saves a model) and ``metaopt predict`` (applies one)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

_PICKLE_WARNING = ("Model files are Python pickles (joblib): loading one can run arbitrary code, so only "
                   "load model files you made yourself or got from a source you trust.")


def register(sub: argparse._SubParsersAction) -> None:
    from metaopt.cli._recommend import add_row_key_args, kind_choices, learner_arg, learner_metavar
    from metaopt.core import TUNE_ALL_METRICS

    p = sub.add_parser(
        "tune", help="tune a learner with a warm-started, cross-validated Optuna search", description=(
            "Tune a learner's hyperparameters on a dataset: the recommended configurations are tried first, "
            "then the sampler explores; every configuration is scored on the same folds (K-fold cross-validation; "
            "fewer folds or a holdout on larger data or a short --timeout), and compared with the library "
            "defaults. A progress bar goes to stderr, the summary to stdout. With --output the final model (the "
            "ensemble of the trials, or with --no-ensemble one configuration) is refitted on all rows and saved. "
            + _PICKLE_WARNING),
    )
    p.add_argument("data", help="CSV/TSV/Parquet/ARFF file (- for standard input), openml:<data id> or "
                   "openml-task:<task id>")
    p.add_argument("--target", "-t", help="target column (default: the file's default target or last column)")
    p.add_argument("--kind", choices=kind_choices(), help="override the inferred task kind")
    p.add_argument("--trials", "-n", type=int, default=None, metavar="N",
                   help="number of trials to run now (default: 50, or as many as --timeout allows; a resumed "
                        "study adds them)")
    p.add_argument("--timeout", type=float, metavar="S",
                   help="seconds for the whole command (loading, recommendations, library default, search, final "
                        "refit); it ends within about 10%% of S")
    p.add_argument("--time-budget", type=float, metavar="S", dest="time_budget",
                   help="the same as --timeout (FLAML's name)")
    p.add_argument("--learner", default="auto", type=learner_arg, metavar=learner_metavar(),
                   help="learner to tune (default auto: the learners of the top recommendations, "
                        "searched side by side)")
    p.add_argument("--cv", type=_cv_arg, default="auto", metavar="K|auto",
                   help="cross-validation folds, or auto (default): 5 folds on small data, fewer folds or a holdout "
                        "as the rows grow or the time budget shrinks")
    p.add_argument("--metric", choices=list(TUNE_ALL_METRICS),
                   help="metric to optimise (default: roc_auc binary, log_loss multiclass, rmse regression); "
                        "average_precision and binary f1 take the second class as positive (multiclass f1: macro)")
    add_row_key_args(p)
    p.add_argument("--storage", metavar="URL",
                   help="Optuna storage URL (e.g. sqlite:///tune.db) or a .db file path; an existing study "
                        "of the same name is resumed")
    p.add_argument("--study-name", metavar="NAME", help="the study's name in --storage (only with --storage; default: "
                                                         "derived from dataset, learner, metric, folds and seed)")
    p.add_argument("--output", "-o", metavar="FILE", help="save the refitted final model here (joblib pickle)")
    p.add_argument("--kb", metavar="DIR", help="knowledge-base directory, e.g. one grown by 'metaopt kb add-study' "
                   "(default: the shipped one)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of folds, sampler and fits (default 0)")
    p.add_argument("--sampler", choices=["meta", "tpe", "random"], default="meta",
                   help="sampler after the warm start (default meta: MetaSampler)")
    p.add_argument("--no-warm-start", action="store_true", help="do not enqueue the recommended configurations")
    p.add_argument("--no-pruning", action="store_true", help="never stop a trial early")
    p.add_argument("--k", type=int, default=5, help="number of recommended configurations to enqueue (default 5)")
    p.add_argument("--jobs", type=int, default=1, metavar="J", help="J parallel trials, one thread per fit (default 1)")
    p.add_argument("--ensemble", action=argparse.BooleanOptionalAction, default=True,
                   help="save the greedy ensemble of the trials (selected on their out-of-fold predictions); "
                        "--no-ensemble: one configuration, the best CV mean minus one standard error (default: "
                        "--ensemble)")
    p.add_argument("--ensemble-size", type=int, default=25, metavar="R",
                   help="rounds of greedy ensemble selection (default 25)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run_tune)

    q = sub.add_parser(
        "predict",
        help="predict with a model saved by 'metaopt tune'",
        description=(
            "Write one prediction per row of DATA (CSV with a header; to stdout unless --output). DATA must "
            "have the training columns; other columns (the target, identifiers, bookkeeping) are ignored, "
            "with a warning for those the model never saw. The identifier column dropped in training (or "
            "--id-column) is copied into the output as its first column. " + _PICKLE_WARNING),
    )
    q.add_argument("model", help="model file written by 'metaopt tune --output' (a joblib pickle)")
    q.add_argument("data", help="CSV/TSV/Parquet/ARFF file with the training columns (- for standard input)")
    q.add_argument("--output", "-o", metavar="FILE", help="write the predictions here instead of stdout: Parquet "
                   "for .parquet/.pq, tab-separated for .tsv, else CSV (.csv.gz: compressed)")
    q.add_argument("--proba", action="store_true",
                   help="write class probabilities (one column proba_<class> per class) instead of labels")
    q.add_argument("--id-column", metavar="COL",
                   help="copy this column of DATA, verbatim, into the output as its first column, to join the "
                        "predictions back (default: the identifier column dropped in training, when DATA has it)")
    q.set_defaults(func=run_predict)


def _cv_arg(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer or auto, got {text!r}") from None


def _timeout(args: argparse.Namespace) -> float | None:
    """``--timeout`` or its alias ``--time-budget`` (ConfigError when both are given and differ)."""
    from metaopt.exceptions import ConfigError

    if args.timeout is not None and args.time_budget is not None and args.timeout != args.time_budget:
        raise ConfigError(f"--timeout {args.timeout:g} and --time-budget {args.time_budget:g} differ; they are "
                          "the same setting: give one")
    return args.timeout if args.timeout is not None else args.time_budget


def run_tune(args: argparse.Namespace) -> int:
    import time

    from metaopt.exceptions import ConfigError, MetaoptError
    from metaopt.tuning import check_data, check_metric, check_output_path, open_storage, tune

    started_at = getattr(args, "started_at", None) or time.monotonic()  # main's clock: it covers the imports too
    args.timeout = _timeout(args)
    _check_options(args)
    if args.study_name and not args.storage:  # a named study in memory is lost at exit: surely not what was meant
        raise ConfigError(f"--study-name {args.study_name!r} names a study in --storage; give --storage too "
                          "(e.g. --storage tune.db), or leave both out")
    if args.output:  # an unwritable --output is found now, not after the whole search
        check_output_path(args.output)
        _not_the_data(args.output, args.data)
    if args.kb is not None:  # a wrong --kb stops here, not as a search without warm start
        from metaopt.kb import KnowledgeBase

        KnowledgeBase.check_path(args.kb)
    from metaopt.data import load_data

    ds = load_data(args.data, target=args.target, kind=args.kind, groups=args.groups, time_column=args.time_column)
    check_metric(ds.kind, args.metric)
    check_data(ds, args.cv)  # too many folds, huge values: one line on stderr, before the header
    storage = open_storage(args.storage, heartbeat=True)  # a bad --storage too, before the header
    if not args.quiet:  # what is being tuned, before any wait (meta-model fit, progress bar)
        print(_header(ds, args), file=sys.stderr, flush=True)
        for note in ds.essential_notes:  # e.g. integer codes taken as numbers: worth a Ctrl-C before the search
            print(f"metaopt: note: {note}", file=sys.stderr, flush=True)
    with _notices(enabled=not args.quiet), _sigterm_stops_the_search():
        result = tune(ds, learner=args.learner, n_trials="auto" if args.trials is None else args.trials,
                      timeout=args.timeout, cv=args.cv, metric=args.metric, storage=storage, started_at=started_at,
                      study_name=args.study_name, random_state=args.seed, warm_start=not args.no_warm_start,
                      sampler=args.sampler, progress=not args.quiet, n_jobs=args.jobs, k=args.k,
                      pruner=None if args.no_pruning else "auto", ensemble=args.ensemble,
                      ensemble_size=args.ensemble_size, kb=args.kb, on_interrupt="finish")
    path, save_error = None, None
    if args.output:
        try:
            path = str(result.save(args.output))
        except MetaoptError as exc:  # e.g. disk full: the summary is still worth printing
            save_error = exc
    if args.json:
        doc = result.summary.to_dict()
        doc["model_path"] = path
        json.dump(doc, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(result.summary)
        if path:
            print(f"model saved to {path}")
    if save_error is not None:
        sys.stdout.flush()
        raise save_error  # one line on stderr, exit 2 (metaopt.cli.main)
    return 0


#: ``tune``'s argument names as this command's options, for its messages
_OPTION_OF = {"n_trials": "--trials", "timeout": "--timeout", "cv": "--cv", "n_jobs": "--jobs", "k": "--k",
              "random_state": "--seed", "ensemble_size": "--ensemble-size"}


def _check_options(args: argparse.Namespace) -> None:
    """``tune``'s checks of its arguments, before the data are loaded: one line naming the option."""
    from metaopt.exceptions import ConfigError
    from metaopt.tuning import check_arguments

    try:
        check_arguments(n_trials="auto" if args.trials is None else args.trials, timeout=args.timeout, cv=args.cv,
                        n_jobs=args.jobs, k=args.k, random_state=args.seed, learner=args.learner,
                        ensemble=args.ensemble, ensemble_size=args.ensemble_size)
    except ConfigError as exc:
        name, _, rest = str(exc).partition(" ")
        raise ConfigError(f"{_OPTION_OF[name]} {rest}" if name in _OPTION_OF else str(exc)) from None


def _header(ds, args: argparse.Namespace) -> str:
    from metaopt.core import PRIMARY
    from metaopt.tuning import resolve_trials

    trials = resolve_trials("auto" if args.trials is None else args.trials, args.timeout)
    budget = " and ".join(x for x in (f"{trials} trials" if trials is not None else "",
                                      f"{args.timeout:g} s" if args.timeout is not None else "") if x)
    return (f"{ds.name}: {ds.n_rows} rows x {ds.n_features} features, target {ds.target!r} ({ds.kind}); "
            f"learner {args.learner}, metric {args.metric or PRIMARY[ds.kind]}, "
            f"{'cv auto' if args.cv == 'auto' else f'{args.cv}-fold CV'}, "
            f"sampler {args.sampler}, {budget}")


@contextlib.contextmanager
def _sigterm_stops_the_search() -> Iterator[None]:
    """SIGTERM (a batch scheduler's stop, ``kill``) ends the search as Ctrl-C does, so that the model of the
    finished trials is still saved; a command, not the library, owns the process's signals."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return

    def stop(signum: int, frame: object) -> None:
        exc = KeyboardInterrupt()
        exc.how = "SIGTERM"  # the summary's note names it
        raise exc

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _notices(enabled: bool = True) -> Iterator[None]:
    """Show the library's INFO messages (e.g. "fitting the meta-model once") on stderr while tuning."""
    logger = logging.getLogger("metaopt")
    if not enabled:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("metaopt: %(message)s"))
    level = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def run_predict(args: argparse.Namespace) -> int:
    import pandas as pd

    from metaopt.cli import warnings_as_lines
    from metaopt.data import read_frame
    from metaopt.exceptions import ConfigError
    from metaopt.tuning import load_model

    model = load_model(args.model)
    if args.output:
        _check_predictions_path(args.output, args.data)  # before reading the data
    if args.proba and model.kind == "regression":
        raise ConfigError("--proba needs a classification model; this model is a regression model")
    target = model.schema.target
    if args.id_column == target:
        raise ConfigError(f"--id-column {target!r} is the model's target column; name an identifier column")
    wanted = [args.id_column] if args.id_column else model.schema.id_columns
    frame = read_frame(args.data, text_columns=wanted)  # text: identifiers keep leading zeros
    id_col = next((c for c in wanted if c in frame.columns), None)
    if args.id_column and id_col is None:
        shown = ", ".join(repr(c) for c in list(frame.columns)[:8])
        raise ConfigError(f"--id-column {args.id_column!r} is not a column of {args.data} (columns: {shown}"
                          f"{', ...' if frame.shape[1] > 8 else ''})")
    if id_col is not None and id_col not in model.schema.input_columns:
        frame, ids = frame.drop(columns=[id_col]), frame[id_col]  # not a feature: no "ignored column" warning
    else:
        ids = frame[id_col] if id_col is not None else None
    with warnings_as_lines():  # e.g. values not seen in training, columns not trained on
        if args.proba:
            proba = model.predict_proba(frame)
            out = pd.DataFrame(proba, columns=[f"proba_{c}" for c in model.classes_])
        else:
            out = pd.DataFrame({target: model.predict(frame)})
    if ids is not None:
        out.insert(0, id_col, ids.to_numpy())
    if args.output:
        _write_predictions(out, args.output)
    else:
        out.to_csv(sys.stdout, index=False)
    return 0


def _is_file(path: str, data: str) -> bool:
    """Whether ``path`` names the existing file ``data``, however it is spelt (a link, another relative path)."""
    import os

    return os.path.exists(path) and os.path.exists(data) and os.path.samefile(path, data)


def _not_the_data(output: str, data: str) -> None:
    """Refuse a model file name that is the data file's: the search would end by overwriting its data."""
    from metaopt.exceptions import ConfigError

    if _is_file(output, data):
        raise ConfigError(f"--output {output!r} is the data file; the model would overwrite it: use a name such as "
                          f"model.joblib")


def _check_predictions_path(path: str, data: str) -> None:
    from pathlib import Path

    from metaopt.exceptions import ConfigError

    if _is_file(path, data):
        raise ConfigError(f"--output {path!r} is the data file; the predictions would replace its rows: give "
                          f"another file name")
    parent = Path(path).parent
    if Path(path).is_dir():
        raise ConfigError(f"--output {path!r} is a directory; give a file name such as predictions.csv")
    if not parent.is_dir():
        raise ConfigError(f"--output {path!r}: directory {str(parent)!r} does not exist")


def _write_predictions(out: Any, path: str) -> None:
    """As the file name says: Parquet (``.parquet``, ``.pq``), tab-separated (``.tsv``), else CSV (compressed
    where the suffix says so, e.g. ``.csv.gz``: pandas infers it)."""
    from metaopt.exceptions import ConfigError

    name = path.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            out.to_parquet(path, index=False)
        else:
            out.to_csv(path, index=False, sep="\t" if ".tsv" in name else ",")
    except OSError as exc:
        raise ConfigError(f"cannot write predictions to {path!r}: {exc.strerror or exc}") from None
