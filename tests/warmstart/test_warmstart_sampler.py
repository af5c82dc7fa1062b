"""MetaSampler on a real LightGBM study: recommendations first, determinism, unknown parameters."""

from __future__ import annotations

import json
import warnings

import numpy as np
import optuna
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from metaopt.learners import get_learner
from metaopt.warmstart import ATTR, MetaSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _suggest(trial, name, d):
    if isinstance(d, optuna.distributions.CategoricalDistribution):
        return trial.suggest_categorical(name, d.choices)
    if isinstance(d, optuna.distributions.IntDistribution):
        return trial.suggest_int(name, d.low, d.high, log=d.log)
    return trial.suggest_float(name, d.low, d.high, log=d.log)


@pytest.mark.parametrize("adaptive", [True, False])
def test_real_study_starts_with_recommendations(credit_g, adaptive):
    """The first k trials are the warm start: the recommendations as ranked, or (adaptive, the default) the
    first two as ranked and each later one the KB rule's choice after the study's real scores so far."""
    from metaopt.metamodel import ADAPTIVE_START
    from metaopt.recommender import get_recommender
    from metaopt.warmstart._warm_start import task_size

    ds = credit_g
    lgbm = get_learner("lightgbm")
    space = lgbm.search_space(ds.kind)
    X_tr, X_va, y_tr, y_va = train_test_split(ds.X, ds.y, test_size=0.25, random_state=0, stratify=ds.y)
    pos = ds.y.cat.categories[1]

    def objective(trial):
        m = lgbm.fit(X_tr, y_tr, {n: _suggest(trial, n, d) for n, d in space.items()}, ds.kind)
        return roc_auc_score(np.asarray(y_va) == pos, m.predict_proba(X_va)[:, 1])

    sampler = MetaSampler(ds.X, ds.y, k=5, seed=0, adaptive=adaptive)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=15)
    assert len(study.trials) == 15 and all(t.state.name == "COMPLETE" for t in study.trials)
    record = study.user_attrs[ATTR]
    assert [t.params for t in study.trials[:5]] == record["params"]
    assert [t.user_attrs["metaopt:config_id"] for t in study.trials[:5]] == record["config_ids"]
    rec_ids = [r.config_id for r in sampler.recommendations]
    if not adaptive:
        assert record["config_ids"] == rec_ids and "planned" not in record
    else:
        assert record["config_ids"][:ADAPTIVE_START] == rec_ids[:ADAPTIVE_START] and record["planned"] == 5
        rec = get_recommender(None, "lightgbm")
        for i in range(ADAPTIVE_START, 5):  # replay the rule on the scores the study had when it chose
            tried = {t.user_attrs["metaopt:config_id"]: t.value for t in study.trials[:i]}
            nxt = rec.next_recommendation(ds.kind, "lightgbm", tried, *task_size(sampler.meta_features),
                                          width=lgbm.model_width(ds.X))
            assert record["config_ids"][i] == nxt.config_id
    recs = {r.config_id: r for r in sampler.recommendations}
    for p, cid in zip(record["params"], record["config_ids"]):
        if cid not in recs:
            continue  # an adaptive pick: its parameters come from the same KB table as the ranked ones
        rec_params = recs[cid].params
        # KB configurations lie inside the learner's space (the library default's fixed n_estimators is
        # not a search-space parameter: tuning leaves the number of rounds to early stopping)
        assert set(rec_params) & set(space) <= set(p) <= set(space)
        for name in set(rec_params) & set(space):
            d, v = space[name], rec_params[name]
            if hasattr(d, "low") and not isinstance(v, bool):  # clipped into the space (reg_alpha=0 on a log scale)
                v = min(max(v, d.low), d.high)
            assert p[name] == pytest.approx(v)
    assert "metaopt:config_id" not in study.trials[5].user_attrs
    assert 0 < sampler.last_weight < 1


def test_a_study_of_two_objectives_starts_with_the_warm_start_then_the_base_sampler(credit_g):
    """Score and model size (before: a RuntimeError from Optuna at the third trial, where the adaptive pick
    read "the" score): the picks come first, the later ones in the KB's order, then TPE's, none repeated."""
    from metaopt.recommender import get_recommender
    from metaopt.warmstart._warm_start import task_size

    ds, lgbm = credit_g, get_learner("lightgbm")
    space = {n: d for n, d in lgbm.search_space(ds.kind).items() if n in ("learning_rate", "num_leaves")}
    X_tr, X_va, y_tr, y_va = train_test_split(ds.X, ds.y, test_size=0.25, random_state=0, stratify=ds.y)
    pos = ds.y.cat.categories[1]

    def objective(trial):
        params = {n: _suggest(trial, n, d) for n, d in space.items()}
        m = lgbm.fit(X_tr, y_tr, params, ds.kind)
        return roc_auc_score(np.asarray(y_va) == pos, m.predict_proba(X_va)[:, 1]), params["num_leaves"]

    sampler = MetaSampler(ds.X, ds.y, k=5, seed=0, search_space=space)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study.optimize(objective, n_trials=10)
    said = [str(w.message) for w in caught if "objectives" in str(w.message)]
    assert len(said) == 1 and "2 objectives" in said[0] and "TPESampler proposes" in said[0]
    assert len(study.trials) == 10 and all(t.state.name == "COMPLETE" for t in study.trials)
    record = study.user_attrs[ATTR]
    assert record["planned"] == 5 and len(record["config_ids"]) == 5
    assert [t.user_attrs["metaopt:config_id"] for t in study.trials[:5]] == record["config_ids"]
    rec = get_recommender(None, "lightgbm")
    for i in range(2, 5):  # no score read: each later pick is the rule's choice with nothing observed
        tried = {cid: float("nan") for cid in record["config_ids"][:i]}
        nxt = rec.next_recommendation(ds.kind, "lightgbm", tried, *task_size(sampler.meta_features),
                                      width=lgbm.model_width(ds.X))
        assert record["config_ids"][i] == nxt.config_id
    assert not any("metaopt:config_id" in t.user_attrs for t in study.trials[5:])
    assert len({tuple(sorted(t.params.items())) for t in study.trials}) == 10
    assert study.best_trials


def test_a_pickled_sampler_resumes_a_study_as_optunas_faq_does(credit_g, tmp_path):
    """Optuna's FAQ saves a sampler with pickle and passes it to ``load_study`` to resume with its state
    (before: "cannot pickle '_thread.RLock' object"); the warm start goes on where it stopped."""
    import pickle
    import shutil

    ds, lgbm = credit_g, get_learner("lightgbm")
    space = {n: d for n, d in lgbm.search_space(ds.kind).items() if n in ("learning_rate", "num_leaves")}
    X_tr, X_va, y_tr, y_va = train_test_split(ds.X, ds.y, test_size=0.25, random_state=0, stratify=ds.y)
    pos = ds.y.cat.categories[1]

    def objective(trial):
        m = lgbm.fit(X_tr, y_tr, {n: _suggest(trial, n, d) for n, d in space.items()}, ds.kind)
        return roc_auc_score(np.asarray(y_va) == pos, m.predict_proba(X_va)[:, 1])

    url = f"sqlite:///{tmp_path / 'a.db'}"
    study = optuna.create_study(storage=url, study_name="s", direction="maximize",
                                sampler=MetaSampler(ds.X, ds.y, k=5, seed=0, search_space=space))
    study.optimize(objective, n_trials=3)  # the warm start is halfway: 3 of its 5 picks
    saved = pickle.dumps(study.sampler)
    assert len(saved) < 200_000 and pickle.loads(saved).surrogate is not None  # the KB's surrogate: fetched again
    shutil.copy(tmp_path / "a.db", tmp_path / "b.db")
    runs = []
    for db in ("a.db", "b.db"):  # the same saved state on two copies of the study: the same trials
        resumed = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / db}", sampler=pickle.loads(saved))
        resumed.optimize(objective, n_trials=6)
        runs.append([t.params for t in resumed.trials])
        assert len({json.dumps(p, sort_keys=True) for p in runs[-1]}) == 9
        assert len(resumed.user_attrs[ATTR]["config_ids"]) == 5
        assert [t.user_attrs.get("metaopt:config_id") is not None for t in resumed.trials] == [True] * 5 + [False] * 4
    assert runs[0] == runs[1]


RECS = [{"config_id": "a", "params": {"learning_rate": 0.05, "num_leaves": 31}},
        {"config_id": "b", "params": {"learning_rate": 0.02, "num_leaves": 100}}]


def _cheap(trial):
    lr = trial.suggest_float("learning_rate", 0.005, 0.3, log=True)
    nl = trial.suggest_int("num_leaves", 4, 256, log=True)
    mcs = trial.suggest_int("min_child_samples", 2, 100, log=True)
    return -(np.log(lr) - np.log(0.03)) ** 2 - (np.log(nl) - np.log(60)) ** 2 - 0.01 * mcs


def _run(seed, n=14):
    sampler = MetaSampler(kind="binary", meta_features={"NumberOfInstances": 1000.0, "NumberOfFeatures": 21.0,
                                                        "NumberOfClasses": 2.0},
                          recommendations=RECS, seed=seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(_cheap, n_trials=n)
    return [t.params for t in study.trials]


def test_deterministic_with_seed():
    a, b = _run(3), _run(3)
    assert a == b
    assert a[0]["learning_rate"] == 0.05 and a[1]["num_leaves"] == 100
    assert _run(4)[2:] != a[2:]


def test_unknown_parameter_falls_back_to_tpe_with_one_warning():
    sampler = MetaSampler(kind="binary", meta_features={"NumberOfInstances": 500.0}, recommendations=RECS, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)

    def objective(trial):
        return _cheap(trial) - (trial.suggest_float("my_own_knob", 0, 1) - 0.3) ** 2

    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        study.optimize(objective, n_trials=10)
    msgs = [str(w.message) for w in rec if "does not know" in str(w.message)]
    assert len(msgs) == 1 and "my_own_knob" in msgs[0]
    assert len(study.trials) == 10
    assert all("my_own_knob" in t.params for t in study.trials)


def test_mismatched_names_only_use_tpe():
    sampler = MetaSampler(kind="binary", meta_features={"NumberOfInstances": 500.0}, recommendations=RECS, seed=0)
    study = optuna.create_study(sampler=sampler)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=8)
    assert len(study.trials) == 8
