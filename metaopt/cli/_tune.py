"""``metaopt tune`` (warm-started search, saves a model) and ``metaopt predict`` (applies one)."""

from __future__ import annotations

import argparse
import json
import sys

_PICKLE_WARNING = ("Model files are Python pickles (joblib): loading one can run arbitrary code, so only "
                   "load model files you made yourself or got from a source you trust.")


def register(sub: argparse._SubParsersAction) -> None:
    from metaopt.kb._protocol import ALL_METRICS
    from metaopt.learners import list_learners

    p = sub.add_parser(
        "tune",
        help="tune a learner with a warm-started, cross-validated Optuna search",
        description=(
            "Tune a learner's hyperparameters on a dataset: the recommended configurations are tried first, "
            "then the sampler explores; every configuration is scored by K-fold cross-validation on the same "
            "folds, and compared with the library defaults. A progress bar goes to stderr, the summary to "
            "stdout. With --output the best configuration is refitted on all rows and saved. "
            + _PICKLE_WARNING),
    )
    p.add_argument("data", help="CSV/TSV/Parquet/ARFF file, openml:<data id> or openml-task:<task id>")
    p.add_argument("--target", "-t", help="target column (default: the file's default target or last column)")
    p.add_argument("--kind", choices=["binary", "multiclass", "regression", "classification"],
                   help="override the inferred task kind")
    p.add_argument("--trials", "-n", type=int, default=50, metavar="N",
                   help="number of trials to run now (default 50; a resumed study adds them)")
    p.add_argument("--timeout", type=float, metavar="S", help="stop the search after S seconds")
    p.add_argument("--learner", default="auto", choices=["auto", *list_learners()],
                   help="learner to tune (default auto: the learner of the top recommendation)")
    p.add_argument("--cv", type=int, default=5, metavar="K", help="cross-validation folds (default 5)")
    p.add_argument("--metric", choices=list(ALL_METRICS),
                   help="metric to optimise (default: roc_auc binary, log_loss multiclass, rmse regression)")
    p.add_argument("--storage", metavar="URL",
                   help="Optuna storage URL (e.g. sqlite:///tune.db) or a .db file path; an existing study "
                        "of the same name is resumed")
    p.add_argument("--study-name", metavar="NAME", help="study name (default with --storage: derived from "
                                                         "dataset, learner, metric, folds and seed)")
    p.add_argument("--output", "-o", metavar="FILE", help="save the refitted best model here (joblib pickle)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of folds, sampler and fits (default 0)")
    p.add_argument("--sampler", choices=["meta", "tpe", "random"], default="meta",
                   help="sampler after the warm start (default meta: MetaSampler)")
    p.add_argument("--no-warm-start", action="store_true", help="do not enqueue the recommended configurations")
    p.add_argument("--no-pruning", action="store_true", help="never stop a trial early")
    p.add_argument("--k", type=int, default=5, help="number of recommended configurations to enqueue (default 5)")
    p.add_argument("--jobs", type=int, default=1, metavar="J", help="parallel trials (threads; default 1)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run_tune)

    q = sub.add_parser(
        "predict",
        help="predict with a model saved by 'metaopt tune'",
        description=(
            "Write one prediction per row of DATA (CSV with a header; to stdout unless --output). DATA must "
            "have the training columns (the target and dropped identifier columns may be present); other "
            "columns are refused. " + _PICKLE_WARNING),
    )
    q.add_argument("model", help="model file written by 'metaopt tune --output' (a joblib pickle)")
    q.add_argument("data", help="CSV/TSV/Parquet/ARFF file with the training columns")
    q.add_argument("--output", "-o", metavar="FILE", help="write the CSV here instead of stdout")
    q.add_argument("--proba", action="store_true",
                   help="write class probabilities (one column proba_<class> per class) instead of labels")
    q.set_defaults(func=run_predict)


def run_tune(args: argparse.Namespace) -> int:
    from metaopt.exceptions import ConfigError
    from metaopt.tuning import tune

    if args.output:
        from pathlib import Path

        out = Path(args.output)
        if out.is_dir():
            raise ConfigError(f"--output {args.output!r} is a directory; give a file name such as model.joblib")
        if not out.parent.exists():
            raise ConfigError(f"--output: directory {str(out.parent)!r} does not exist")
    result = tune(args.data, target=args.target, kind=args.kind, learner=args.learner, n_trials=args.trials,
                  timeout=args.timeout, cv=args.cv, metric=args.metric, storage=args.storage,
                  study_name=args.study_name, random_state=args.seed, warm_start=not args.no_warm_start,
                  sampler=args.sampler, progress=not args.quiet, n_jobs=args.jobs, k=args.k,
                  pruner=None if args.no_pruning else "auto")
    path = None
    if args.output:
        path = str(result.save(args.output))
    if args.json:
        doc = result.summary.to_dict()
        doc["model_path"] = path
        json.dump(doc, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(result.summary)
        if path:
            print(f"model saved to {path}")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    import pandas as pd

    from metaopt.data import read_frame
    from metaopt.exceptions import ConfigError
    from metaopt.tuning import load_model

    model = load_model(args.model)
    if args.proba and model.kind == "regression":
        raise ConfigError("--proba needs a classification model; this model is a regression model")
    frame = read_frame(args.data)
    target = model.schema.target
    if args.proba:
        proba = model.predict_proba(frame)
        out = pd.DataFrame(proba, columns=[f"proba_{c}" for c in model.classes_])
    else:
        out = pd.DataFrame({target: model.predict(frame)})
    if args.output:
        out.to_csv(args.output, index=False)
    else:
        out.to_csv(sys.stdout, index=False)
    return 0
