"""Ensembles of the search against the best single trial (issue #11), on the 30 hold-out datasets.

Every method sees the same train/test split (``bench_time.split_path``: 75/25, seed 0, or ``--split-seed``) and
is scored on the test rows (ROC AUC; one-vs-rest macro for multiclass; R^2 for regression).  Per dataset one
50-trial study per searcher; the model each method would return after the first 10, 25 and 50 trials
is rebuilt from that study (same trials, so the variants differ only in how the final model is made):

- ``metaopt-single``: metaopt's best single configuration by CV (the library default included), today's;
- ``metaopt-1se``: the fastest within one standard error of the best (``tune(ensemble=False)`` before
  ``bench_single_choice.py`` replaced it by the lower confidence bound);
- ``metaopt-ensemble``: greedy ensemble selection, members refitted on all rows (``tune``'s default);
- ``metaopt-ensemble-folds``: the same selection, members kept as their fold models (bagged);
- ``metaopt-auto-ensemble``: ``learner="auto"`` (the learners of the joint top 5, each in its own study,
  ``docs/tuning.md`` "Learners side by side"), the ensemble across all their trials after the first n of all
  studies; ``metaopt-auto-single``: the best single configuration of those trials;
- ``optuna-tpe``: cold TPE on the same CV objective, its best single trial;
- ``flaml-ensemble``: FLAML ``AutoML(ensemble=True)`` with metaopt's wall time to 25 trials (at 25 only).

Reports mean normalised score (per dataset and trial count, min-max over the methods), average rank,
wins/ties/losses per pair, the issue's bars, and a PNG of the anytime curves.  Resumable (``--cache``).

    python benchmarks/bench_ensemble.py --cache benchmarks/results/bench_ensemble.jsonl \
        --md docs/bench_ensemble.md --png docs/bench_ensemble.png
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_time import REPO, dataset_rows, holdout_score, split_path  # noqa: E402

CHECKPOINTS = (10, 25, 50)
STUDIES = ("lgbm", "auto", "tpe")
METHODS = ("metaopt-single", "metaopt-1se", "metaopt-ensemble", "metaopt-ensemble-folds", "metaopt-auto-ensemble",
           "metaopt-auto-single", "optuna-tpe", "flaml-ensemble")
PAIRS = (("metaopt-ensemble", "metaopt-single"), ("metaopt-ensemble", "metaopt-ensemble-folds"),
         ("metaopt-1se", "metaopt-single"), ("metaopt-auto-ensemble", "metaopt-ensemble"),
         ("metaopt-auto-ensemble", "metaopt-auto-single"), ("metaopt-auto-single", "metaopt-single"),
         ("metaopt-ensemble", "optuna-tpe"), ("metaopt-ensemble", "flaml-ensemble"))
TIE = 1e-4
#: corpus datasets that are in the KB (24 of 200-2,000 rows, drawn with seed 11; not hold-out datasets)
VALIDATION = REPO / "benchmarks" / "ensemble_validation_datasets.csv"


def validation_rows() -> list[dict]:
    """The rows of :data:`VALIDATION`, read like the hold-out datasets (files in the shared corpus)."""
    import csv

    with open(VALIDATION, encoding="utf-8") as fh:
        return [dict(r, group="holdout") for r in csv.DictReader(fh)]


# --------------------------------------------------------------------------- a study's models after N trials
class _Prefix:
    """A read-only view of a study holding only its first ``n`` trials (what the search had after n)."""

    def __init__(self, study: Any, n: int):
        self._s, self._n = study, n
        self._storage, self._study_id, self.user_attrs = study._storage, study._study_id, study.user_attrs

    def get_trials(self, deepcopy: bool = False, states: Any = None) -> list[Any]:
        return [t for t in self._s.get_trials(deepcopy=False, states=states) if t.number < self._n]


def _context(study: Any, ds: Any) -> SimpleNamespace:
    """The study's learner, metric, folds and library default, as ``tune`` had them."""
    from metaopt.core import GREATER_IS_BETTER
    from metaopt.learners import get_learner
    from metaopt.tuning._cv import FoldCV
    from metaopt.tuning._fidelity import EvalPlan
    from metaopt.tuning._study import DEFAULT_ATTR, SETUP_ATTR

    setup = study.user_attrs[SETUP_ATTR]
    lrn = get_learner(setup["learner"])
    plan = EvalPlan.from_setup(setup)
    cvx = FoldCV(ds, lrn, setup["metric"], plan, int(setup["seed"]))
    stored = study.user_attrs.get(DEFAULT_ATTR) or {}
    default = SimpleNamespace(score=stored.get("score"), params=lrn.default_params(ds.kind), fit_s=stored.get("fit_s"))
    return SimpleNamespace(lrn=lrn, learner=setup["learner"], metric=setup["metric"], cvx=cvx, seed=int(setup["seed"]),
                           default=default, maximize=GREATER_IS_BETTER[setup["metric"]])


def _score(sp: dict, fitted: Any, ds: Any) -> float:
    from metaopt.tuning import ColumnSchema, TunedModel

    model = TunedModel(fitted, ColumnSchema.from_dataset(ds), learner="x", kind=ds.kind, params={})
    if ds.kind == "regression":
        return holdout_score("regression", sp["yte"], pred=model.predict(sp["Xte"]))
    return holdout_score(ds.kind, sp["yte"], proba=model.predict_proba(sp["Xte"]), classes=model.classes_)


def _best_single(ctx: Any, view: Any, with_default: bool = True) -> tuple[Any, dict]:
    from optuna.trial import TrialState

    done = [t for t in view.get_trials(states=(TrialState.COMPLETE,)) if t.value is not None and np.isfinite(t.value)]
    best = max(done, key=lambda t: t.value if ctx.maximize else -t.value) if done else None
    d = ctx.default
    if with_default and d.score is not None and (best is None or (d.score > best.value if ctx.maximize
                                                                  else d.score < best.value)):
        return "default", dict(d.params)
    return best.number, dict(best.user_attrs.get("config") or best.params)


def _refit(ctx: Any, ds: Any, params: dict) -> Any:
    return ctx.lrn.fit(ds.X, ds.y, params, ds.kind, random_state=ctx.seed)


def _as_refit(studies: list[Any], learner: str, params: dict) -> dict:
    """``params`` as ``tune`` refits them on all rows (``Learner.refit_params``): LightGBM for the mean rounds
    early stopping chose in the folds of the configuration's trial (``metaopt:rounds``; studies from before
    it was recorded keep early stopping)."""
    from metaopt.learners import get_learner
    from metaopt.tuning._objective import ROUNDS_ATTR

    rounds = next((t.user_attrs[ROUNDS_ATTR] for st in studies if _learner_of(st) == learner
                   for t in st.get_trials(deepcopy=False)
                   if t.user_attrs.get(ROUNDS_ATTR) is not None and (t.user_attrs.get("config") or t.params) == params),
                  None)
    return get_learner(learner).refit_params(params, rounds)


def _learner_of(study: Any) -> str:
    from metaopt.tuning._study import SETUP_ATTR

    return study.user_attrs[SETUP_ATTR]["learner"]


def _seed_bag(learner: str, ds: Any, params: dict, seed: int, first: Any = None) -> list[Any]:
    """A configuration's fits for ``tune``'s final model: ``REFIT_SEEDS`` seeds from ``seed`` (one where the
    learner's fits do not depend on the seed); ``first``: the fit with ``seed`` where already made."""
    from metaopt.learners import get_learner
    from metaopt.tuning._ensemble import REFIT_SEEDS

    lrn = get_learner(learner)
    fits = [first if first is not None else lrn.fit(ds.X, ds.y, params, ds.kind, random_state=seed)]
    return fits + [lrn.fit(ds.X, ds.y, params, ds.kind, random_state=seed + i)
                   for i in range(1, REFIT_SEEDS if lrn.seeded else 1)]


def _bag_model(ds: Any, classes: Any, members: list[tuple[Any, float, list[Any]]]) -> Any:
    """An ``EnsembleFit`` of ``(candidate, weight, fits)``."""
    from metaopt.tuning._ensemble import EnsembleFit, Member

    return EnsembleFit(kind=ds.kind, classes_=classes, mode="refit", members=[
        Member(fits, w, c.source, c.learner, c.params, c.cv_score) for c, w, fits in members])


def _ensemble(ctx: Any, view: Any, store: Any, ds: Any, mode: str) -> tuple[Any, dict]:
    from metaopt.tuning._ensemble import EnsembleFit, Member, gather_candidates, keeps_blend, select

    cands = gather_candidates(view, store, ctx.learner, ctx.default, ctx.maximize)
    folds = ctx.cvx.test_folds  # the first split's test folds: each row once, as tune selects
    members, info = select(cands, ctx.cvx.y_codes, ds.kind, ctx.metric, 25, folds)
    if not keeps_blend(members, info):
        if mode == "refit":  # tune's fallback: a seed bag of the best candidate
            params = _as_refit([view], ctx.learner, cands[0].params)
            return _bag_model(ds, _classes(ctx, ds), [(cands[0], 1.0, _seed_bag(ctx.learner, ds, params,
                                                                                  ctx.seed))]), info
        return None, info
    fitted = []
    for c, w in members:
        if mode == "refit":
            models = _seed_bag(ctx.learner, ds, _as_refit([view], ctx.learner, c.params), ctx.seed)
        else:
            task = ctx.cvx.task
            models = [ctx.lrn.fit(task.X.iloc[tr], task.y.iloc[tr], c.params, ds.kind, random_state=ctx.seed + i)
                      for i, (tr, _) in enumerate(task.folds[:ctx.cvx.n_folds])]
        fitted.append(Member(models, w, c.source, c.learner, c.params, c.cv_score))
    return EnsembleFit(kind=ds.kind, members=fitted, classes_=_classes(ctx, ds), mode=mode), info


def _classes(ctx: Any, ds: Any) -> Any:
    return None if ds.kind == "regression" else ctx.cvx.task.labels


def checkpoint_scores(sp: dict, study: Any, ds: Any, variants: tuple[str, ...]) -> dict:
    """Test scores of each variant's model after each checkpoint's first n trials."""
    from metaopt.tuning._ensemble import OofStore
    from metaopt.tuning._robust import robust_choice

    ctx = _context(study, ds)
    store = OofStore.for_storage(study._storage)
    out: dict = {}
    for n in CHECKPOINTS:
        view = _Prefix(study, n)
        row: dict = {}
        single_src, single_params = _best_single(ctx, view, with_default="tpe" not in variants)
        single = _refit(ctx, ds, _as_refit([view], ctx.learner, single_params))
        if "single" in variants or "tpe" in variants:
            row["single"] = {"score": _score(sp, single, ds), "source": single_src}
        if "1se" in variants:
            choice = robust_choice(view, ctx.default, ctx.maximize)
            fitted = (single if choice is None or choice.source == single_src else
                      _refit(ctx, ds, _as_refit([view], ctx.learner, choice.params)))
            row["1se"] = {"score": _score(sp, fitted, ds), "report": None if choice is None else choice.report()}
        for mode in ("refit", "folds"):
            name = "ensemble" if mode == "refit" else "ensemble-folds"
            if name not in variants:
                continue
            t0 = time.perf_counter()
            ens, info = _ensemble(ctx, view, store, ds, mode)
            fit_s = time.perf_counter() - t0
            row[name] = {"score": _score(sp, single if ens is None else ens, ds), "members": 1 if ens is None else
                         len(ens.members), "cv": info.get("cv_score"), "best_single_cv": info.get("best_single_score"),
                         "fit_s": fit_s}
        out[str(n)] = row
    return out


def _first_trials(studies: list[Any], n: int) -> list[set[int]]:
    """Per study, the numbers of its trials among the first ``n`` of all the studies (by start time)."""
    started = sorted(((t.datetime_start.timestamp(), i, t.number) for i, st in enumerate(studies)
                      for t in st.get_trials(deepcopy=False) if t.datetime_start is not None))
    out: list[set[int]] = [set() for _ in studies]
    for _, i, number in started[:n]:
        out[i].add(number)
    return out


class _Subset(_Prefix):
    """A read-only view of a study holding only the trials numbered in ``numbers``."""

    def __init__(self, study: Any, numbers: set[int]):
        super().__init__(study, 0)
        self._numbers = numbers

    def get_trials(self, deepcopy: bool = False, states: Any = None) -> list[Any]:
        return [t for t in self._s.get_trials(deepcopy=False, states=states) if t.number in self._numbers]


def auto_checkpoint_scores(sp: dict, studies: list[Any], ds: Any) -> dict:
    """``learner="auto"``: the ensemble across every learner's study (the primary first) after the first n
    trials of all of them, as ``tune`` builds it (``_final._candidates``), and the best single configuration."""
    from metaopt.learners import get_learner
    from metaopt.tuning._ensemble import OofStore, candidate_pool, gather_candidates, keeps_blend, select

    ctx = _context(studies[0], ds)
    store = OofStore.for_storage(studies[0]._storage)
    folds = ctx.cvx.test_folds  # the first split's test folds: each row once, as tune selects
    out: dict = {}
    for n in CHECKPOINTS:
        cands = []
        for i, (st, numbers) in enumerate(zip(studies, _first_trials(studies, n))):
            learner = st.user_attrs["metaopt:tune"]["learner"]
            cands += gather_candidates(_Subset(st, numbers), store, learner, ctx.default if i == 0 else None,
                                       ctx.maximize, label=(lambda k, lr=learner, j=i: k if j == 0 else f"{lr}:{k}"))
        cands = candidate_pool(cands, ctx.maximize)
        members, info = select(cands, ctx.cvx.y_codes, ds.kind, ctx.metric, 25, folds)
        fit = {}

        def refit(c: Any) -> Any:
            key = (c.learner, str(c.source))
            if key not in fit:
                fit[key] = get_learner(c.learner).fit(ds.X, ds.y, _as_refit(studies, c.learner, c.params), ds.kind,
                                                      random_state=ctx.seed)
            return fit[key]

        single = refit(cands[0])
        row = {"single": {"score": _score(sp, single, ds), "source": str(cands[0].source),
                          "learner": cands[0].learner}}
        if not keeps_blend(members, info):  # tune's fallback: a seed bag of the best one
            members = [(cands[0], 1.0)]
        bag = [(c, w, _seed_bag(c.learner, ds, _as_refit(studies, c.learner, c.params), ctx.seed, first=refit(c)))
               for c, w in members]
        ens_score = _score(sp, _bag_model(ds, _classes(ctx, ds), bag), ds)
        learners = sorted({c.learner for c, _ in members})
        row["ensemble"] = {"score": ens_score, "members": len(members), "learners": learners,
                           "cv": info.get("cv_score"), "best_single_cv": info.get("best_single_score"),
                           "candidate_learners": sorted({c.learner for c in cands})}
        out[str(n)] = row
    return out


# --------------------------------------------------------------------------- the child: one dataset, one searcher
def _tune_study(sp: dict, learner: str, sampler: str, warm: bool, db: Path, seed: int,
                kb: Any = None) -> tuple[Any, Any, float]:
    import metaopt
    from metaopt import load_data

    train = sp["Xtr"].copy()
    train[sp["target"]] = sp["ytr"].to_numpy()
    t0 = time.perf_counter()
    res = metaopt.tune(train, target=sp["target"], kind=sp["kind"], learner=learner, n_trials=max(CHECKPOINTS),
                       sampler=sampler, warm_start=warm, storage=f"sqlite:///{db}", study_name="bench",
                       progress=False, random_state=seed, ensemble=False, pruner=None, kb=kb)
    wall = time.perf_counter() - t0
    ds = load_data(train, target=sp["target"], kind=sp["kind"], name=sp["name"])
    return res, ds, wall


def _wall_to(study: Any, n: int, started: float, wall: float, t_end: float) -> float:
    """Seconds from the call's start to the completion of trial n-1 (by the trials' clocks)."""
    trials = sorted(study.trials, key=lambda t: t.number)
    if len(trials) < n or trials[n - 1].datetime_complete is None:
        return wall
    return wall - (t_end - trials[n - 1].datetime_complete.timestamp())


def child(job: dict) -> dict:
    warnings.filterwarnings("ignore")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sp = pd.read_pickle(job["split"])
    tmp = Path(tempfile.mkdtemp(prefix=job.get("prefix", "bench-ens-")))
    (tmp / "dataset.txt").write_text(sp["name"])  # which split the study is of, for metaopt_studies()
    searcher = job["searcher"]
    learner, sampler, warm, variants = {
        "lgbm": ("lightgbm", "meta", True, ("single", "1se", "ensemble", "ensemble-folds")),
        "auto": ("auto", "meta", True, ("ensemble",)),
        "tpe": ("lightgbm", "tpe", False, ("tpe",)),
    }[searcher]
    started = time.time()
    kb = _kb_without(sp["name"]) if job.get("leave_out") else None
    res, ds, wall = _tune_study(sp, learner, sampler, warm, tmp / "study.db", job["seed"], kb)
    t_end = time.time()
    out = {"wall_s": wall, "learner": res.summary.learner, "n_trials": res.summary.n_trials,
           "learners": res.summary.learners,
           "wall_to": {str(n): _wall_to(res.study, n, started, wall, t_end) for n in CHECKPOINTS}}
    if searcher == "auto":  # every learner's study, the primary first
        import optuna

        url = f"sqlite:///{tmp / 'study.db'}"
        names = ["bench"] + [e["study"] for e in (res.summary.learners or [])[1:]]
        studies = [optuna.load_study(study_name=name, storage=url) for name in names]
        out["checkpoints"] = auto_checkpoint_scores(sp, studies, ds)
    else:
        out["checkpoints"] = checkpoint_scores(sp, res.study, ds, variants)
    if searcher == "lgbm" and not job.get("no_flaml"):
        out["flaml"] = run_flaml_ensemble(sp, out["wall_to"]["25"], job["seed"])
    return out


def _kb_without(name: str) -> Any:
    """The shipped KB without the tasks of dataset ``name`` (by name and OpenML data id): for the validation
    datasets, which are in the KB, so that their warm start is as out-of-sample as a hold-out dataset's."""
    from metaopt.kb import KnowledgeBase

    kb = KnowledgeBase.load()
    t = kb.tasks
    ids = t.loc[t["name"] == name, "openml_data_id"].dropna()
    out = t["name"].eq(name) | t["openml_data_id"].isin(ids)
    keep = t.loc[~out, "task_id"]
    return KnowledgeBase.from_frames(t[~out], kb.configs, kb.evaluations[kb.evaluations["task_id"].isin(keep)],
                                     sources=kb.sources)


def run_flaml_ensemble(sp: dict, budget: float, seed: int) -> dict:
    from flaml import AutoML

    kind = sp["kind"]
    y = sp["ytr"].astype(float) if kind == "regression" else pd.Series(sp["ytr"].astype(str).to_numpy(dtype=object),
                                                                         index=sp["ytr"].index)
    automl = AutoML()
    t0 = time.perf_counter()
    try:
        automl.fit(X_train=sp["Xtr"], y_train=y, task="regression" if kind == "regression" else "classification",
                   time_budget=max(1.0, budget), n_jobs=1, verbose=0, seed=seed, ensemble=True)
    except Exception as exc:  # noqa: BLE001 - a failing method is a result
        return {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:400], "budget": budget}
    wall = time.perf_counter() - t0
    if kind == "regression":
        score = holdout_score(kind, sp["yte"], pred=automl.predict(sp["Xte"]))
    else:
        score = holdout_score(kind, sp["yte"], proba=automl.predict_proba(sp["Xte"]), classes=automl.classes_)
    return {"status": "ok", "score": score, "budget": budget, "wall_s": wall}


# --------------------------------------------------------------------------- the studies left behind
def metaopt_studies(pattern: str, split_dir: str):
    """(split, study, training Dataset) of every finished 50-trial metaopt lightgbm study among the SQLite files
    matching ``pattern`` (this script's temporary folders), matched to its split by rows and columns; for
    ``bench_single_choice.py`` and ``bench_selection_variants.py``."""
    import glob

    import optuna

    from metaopt import load_data
    from metaopt.tuning._study import SETUP_ATTR

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    splits, by_name = {}, {}
    for p in glob.glob(os.path.join(split_dir, "*.pkl")):
        sp = pd.read_pickle(p)
        splits[(len(sp["ytr"]), sp["Xtr"].shape[1])] = by_name[sp["name"]] = sp
    for db in sorted(glob.glob(pattern)):
        study = optuna.load_study(study_name="bench", storage=f"sqlite:///{db}")
        setup = study.user_attrs.get(SETUP_ATTR) or {}
        marker = Path(db).parent / "dataset.txt"  # studies before the marker: matched by shape
        sp = (by_name.get(marker.read_text().strip()) if marker.exists()
              else splits.get((setup.get("n_rows"), setup.get("n_features"))))
        if sp is None or setup.get("learner") != "lightgbm" or len(study.trials) < max(CHECKPOINTS):
            continue
        if not any(t.user_attrs.get("metaopt:config_id") for t in study.trials):
            continue  # the cold TPE study: not metaopt's
        train = sp["Xtr"].copy()
        train[sp["target"]] = sp["ytr"].to_numpy()
        yield sp, study, load_data(train, target=sp["target"], kind=sp["kind"], name=sp["name"])


def studies_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--studies", default=os.path.join(tempfile.gettempdir(), "bench-ens-*", "study.db"))
    ap.add_argument("--split-dir", default=str(Path(tempfile.gettempdir()) / "metaopt_bench_time_splits"))


def study_contexts(argv: list[str] | None, doc: str):
    """(split, study, training Dataset, :func:`_context`) of every study the command line's ``--studies``
    names: the loop of the scripts that re-read this script's studies (warnings silenced)."""
    import warnings

    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    studies_arguments(ap)
    a = ap.parse_args(argv)
    for sp, study, ds in metaopt_studies(a.studies, a.split_dir):
        yield sp, study, ds, _context(study, ds)


# --------------------------------------------------------------------------- the parent
def run_all(rows: list[dict], seed: int, cache: Path, split_dir: Path, jobs: int,
            searchers: tuple[str, ...] = STUDIES, validation: bool = False, flaml: bool = True,
            split_seed: int = 0) -> list[dict]:
    done = {(r["dataset"], r["searcher"]) for r in read_cache(cache) if r.get("split_seed", 0) == split_seed}
    # dataset by dataset (every searcher of one dataset before the next): a partial run compares them on the same datasets
    todo = [(row, s) for row in rows for s in searchers if (row["name"], s) not in done]
    print(f"{len(done)} runs cached; {len(todo)} to run", flush=True)
    running: list[tuple[Any, dict, Path]] = []
    while todo or running:
        while todo and len(running) < jobs:
            row, s = todo.pop(0)
            job = {"split": str(split_path(row, split_dir, split_seed)), "searcher": s, "seed": seed,
                   "dataset": row["name"]}
            if validation:
                job.update(prefix="bench-ensval-", leave_out=True)
            job["no_flaml"] = validation or not flaml
            jpath = Path(tempfile.mkstemp(suffix=".json")[1])
            jpath.write_text(json.dumps(job))
            proc = subprocess.Popen([sys.executable, __file__, "--child", str(jpath)], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
            running.append((proc, job, jpath))
        time.sleep(0.5)
        for item in list(running):
            proc, job, jpath = item
            if proc.poll() is None:
                continue
            running.remove(item)
            out, err = proc.communicate()
            try:
                res = dict(json.loads(out.strip().splitlines()[-1]), status="ok")
            except Exception:  # noqa: BLE001
                res = {"status": "error", "error": err[-600:]}
            rec = {"dataset": job["dataset"], "searcher": job["searcher"], "seed": seed, "split_seed": split_seed,
                   **res}
            with open(cache, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec, default=str) + "\n")
            print(f"  {job['dataset']:<30} {job['searcher']:<5} {rec['status']}"
                  f"{'' if rec['status'] == 'ok' else ' ' + rec['error'][-200:]}", flush=True)
            jpath.unlink(missing_ok=True)
    return read_cache(cache)


def read_cache(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def scores_frame(records: list[dict]) -> pd.DataFrame:
    """One row per (dataset, method, trials) with the test score."""
    names = {("lgbm", "single"): "metaopt-single", ("lgbm", "1se"): "metaopt-1se",
             ("lgbm", "ensemble"): "metaopt-ensemble", ("lgbm", "ensemble-folds"): "metaopt-ensemble-folds",
             ("auto", "ensemble"): "metaopt-auto-ensemble", ("auto", "single"): "metaopt-auto-single",
             ("tpe", "single"): "optuna-tpe"}
    rows = []
    for r in records:
        if r.get("status") != "ok":
            continue
        for n, row in r["checkpoints"].items():
            for variant, v in row.items():
                name = names.get((r["searcher"], variant))
                if name:
                    rows.append({"dataset": r["dataset"], "method": name, "trials": int(n), "score": v["score"],
                                 "members": v.get("members")})
        fl = r.get("flaml")
        if fl and fl.get("status") == "ok":
            rows.append({"dataset": r["dataset"], "method": "flaml-ensemble", "trials": 25, "score": fl["score"]})
    return pd.DataFrame(rows)


#: learner="auto" against the lightgbm study: single and ensemble of each
AUTO_VS = ("metaopt-single", "metaopt-ensemble", "metaopt-auto-single", "metaopt-auto-ensemble")
#: the variants of one study (same trials): compared on every dataset whose lightgbm study finished
VARIANTS = ("metaopt-single", "metaopt-1se", "metaopt-ensemble", "metaopt-ensemble-folds")


def _normalised(df: pd.DataFrame, methods: tuple[str, ...]) -> pd.DataFrame:
    """The runs of ``methods`` on the datasets where all of them have a score, with ``norm`` (per dataset and
    trial count, min-max over these methods; 1 = best) and ``rank``."""
    d = df[df["method"].isin(methods)].copy()
    have = d.groupby("dataset")["method"].nunique()
    d = d[d["dataset"].isin(have[have == len(methods)].index)]
    lo = d.groupby(["dataset", "trials"])["score"].transform("min")
    hi = d.groupby(["dataset", "trials"])["score"].transform("max")
    d["norm"] = ((d["score"] - lo) / (hi - lo).where(hi > lo)).fillna(1.0)
    d["rank"] = d.groupby(["dataset", "trials"])["score"].rank(ascending=False)
    return d


def report(df: pd.DataFrame, md: str | None, png: str | None, runtime: float) -> str:
    var = _normalised(df, VARIANTS)
    every = _normalised(df, tuple(m for m in METHODS if m in set(df["method"])))  # the methods that ran
    mean_v = var.pivot_table(index="method", columns="trials", values="norm", aggfunc="mean")
    mean_all = every.pivot_table(index="method", columns="trials", values="norm", aggfunc="mean")
    rank_all = every.pivot_table(index="method", columns="trials", values="rank", aggfunc="mean")
    raw = var.pivot_table(index="method", columns="trials", values="score", aggfunc="mean")
    lines = ["# Ensembles of the search (issue #11)\n",
             "Test ROC AUC (one-vs-rest macro for multiclass) / R^2 of the model each method returns; same "
             f"75/25 split for every method; runtime of this report's runs {runtime / 60:.0f} min.\n",
             f"## The four final models of the same lightgbm study ({var['dataset'].nunique()} datasets)\n",
             "Mean normalised test score (per dataset and trial count, min-max over these four; 1 = best):\n",
             _md(mean_v), "\nMean test score:\n", _md(raw, "{:.4f}"),
             f"\n## Every method ({every['dataset'].nunique()} datasets with all of them)\n",
             "Mean normalised test score:\n", _md(mean_all), "\nAverage rank (1 = best):\n", _md(rank_all, "{:.2f}"),
             "\n## Wins / ties / losses (every dataset where both have a score)\n",
             "| pair | trials | W | T | L |", "|---|---|---|---|---|"]
    for a, b in PAIRS:
        for n in CHECKPOINTS:
            piv = df[df["trials"] == n].pivot_table(index="dataset", columns="method", values="score")
            if a not in piv or b not in piv:
                continue
            d = (piv[a] - piv[b]).dropna()
            lines.append(f"| {a} vs {b} | {n} | {(d >= TIE).sum()} | {(d.abs() < TIE).sum()} | {(d <= -TIE).sum()} |")
    auto = _normalised(df, AUTO_VS)
    if auto["dataset"].nunique():
        lines += [f"\n## learner=\"auto\" against LightGBM ({auto['dataset'].nunique()} datasets with both studies)\n",
                  "Mean normalised test score (min-max over these four):\n",
                  _md(auto.pivot_table(index="method", columns="trials", values="norm", aggfunc="mean")),
                  "\nMean test score:\n",
                  _md(auto.pivot_table(index="method", columns="trials", values="score", aggfunc="mean"), "{:.4f}")]
    lines += ["\n## The issue's bars\n", *_bars(df, mean_v, var)]
    text = "\n".join(lines) + "\n"
    if md:
        Path(md).write_text(text, encoding="utf-8")
    if png:
        _plot(mean_all if every["dataset"].nunique() >= 5 else mean_v, png)  # a curve over 1-4 datasets misleads
    return text


def _bars(df: pd.DataFrame, mean_v: pd.DataFrame, var: pd.DataFrame) -> list[str]:
    piv = df[df["trials"] == 25].pivot_table(index="dataset", columns="method", values="score")
    if "metaopt-ensemble" not in piv or "metaopt-single" not in piv:
        return ["- not measured"]
    d = (piv["metaopt-ensemble"] - piv["metaopt-single"]).dropna()
    share = float((d >= TIE).mean()) if len(d) else float("nan")
    e25, s25 = mean_v.loc["metaopt-ensemble", 25], mean_v.loc["metaopt-single", 25]
    raw = var[var["method"] == "metaopt-ensemble"].pivot_table(index="dataset", columns="trials", values="score")
    means = [raw[n].mean() for n in CHECKPOINTS]
    never = all(a <= b + 1e-12 for a, b in zip(means, means[1:]))
    return [f"- ensemble beats the best single trial at 25 trials on {int((d >= TIE).sum())}/{len(d)} datasets "
            f"({share:.0%}; ties {int((d.abs() < TIE).sum())}; bar 65%): {'met' if share >= 0.65 else 'missed'}",
            f"- mean normalised score at 25 (the four final models): ensemble {e25:.3f} vs single {s25:.3f}: "
            f"{'met' if e25 > s25 else 'missed'}",
            "- ensemble's mean test score at 10/25/50 trials: " + " / ".join(f"{m:.4f}" for m in means)
            + (": never decreases (met)" if never else ": decreases somewhere (missed)")]


def _md(t: pd.DataFrame, fmt: str = "{:.3f}") -> str:
    cols = list(t.columns)
    out = ["| method | " + " | ".join(f"{c} trials" for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for m, row in t.iterrows():
        out.append(f"| {m} | " + " | ".join("-" if pd.isna(row[c]) else fmt.format(row[c]) for c in cols) + " |")
    return "\n".join(out)


def _plot(mean: pd.DataFrame, png: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for m, row in mean.iterrows():
        xs = [c for c in mean.columns if not pd.isna(row[c])]
        ax.plot(xs, [row[c] for c in xs], marker="o", label=m)
    ax.set_xlabel("trials")
    ax.set_ylabel("mean normalised test score")
    ax.set_xticks(list(CHECKPOINTS))
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=120)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--datasets", type=int, help="the first N hold-out datasets")
    ap.add_argument("--only", help="comma-separated dataset names")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split-seed", type=int, default=0,
                    help="another train/test split of every table: a replicate of the test scores")
    ap.add_argument("--jobs", type=int, default=1, help="datasets x searchers in parallel (one thread each)")
    ap.add_argument("--cache", default=str(REPO / "benchmarks" / "results" / "bench_ensemble.jsonl"))
    ap.add_argument("--split-dir", default=str(Path(tempfile.gettempdir()) / "metaopt_bench_time_splits"))
    ap.add_argument("--searchers", default=",".join(STUDIES),
                    help="studies to run, in this order over all datasets (lgbm: metaopt-* and FLAML; auto; tpe)")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--validation", action="store_true",
                    help=f"the {VALIDATION.name} datasets instead (KB datasets, each left out of the KB for its own "
                         "study; no FLAML; studies in bench-ensval-* folders): for choosing ensemble settings "
                         "without looking at the hold-out datasets")
    ap.add_argument("--no-flaml", action="store_true", help="skip FLAML's ensemble (a reference measured once)")
    ap.add_argument("--md")
    ap.add_argument("--png")
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(child(json.loads(Path(a.child).read_text())), default=str))
        return 0
    t0 = time.time()
    cache = Path(a.cache)
    cache.parent.mkdir(parents=True, exist_ok=True)
    only = a.only.split(",") if a.only else None
    rows = ([r for r in validation_rows() if not only or r["name"] in only] if a.validation
            else dataset_rows(a.datasets, only, large=False))
    searchers = tuple(x for x in a.searchers.split(",") if x)
    if set(searchers) - set(STUDIES):
        ap.error(f"--searchers: choose from {', '.join(STUDIES)}")
    records = read_cache(cache) if a.report_only else run_all(rows, a.seed, cache, Path(a.split_dir), a.jobs,
                                                              searchers, a.validation, not a.no_flaml,
                                                              a.split_seed)
    df = scores_frame([r for r in records if r.get("seed", 0) == a.seed and r.get("split_seed", 0) == a.split_seed])
    if df.empty:
        print("no finished runs")
        return 0
    print(report(df, a.md, a.png, time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
