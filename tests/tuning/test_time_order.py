"""Time-ordered cross-validation in ``tune`` (``time_column=``, ``--time-column``): fit on the past, test on the
future."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metaopt.exceptions import ConfigError
from metaopt.tuning import tune

FAST = dict(progress=False, random_state=0, learner="lightgbm", warm_start=False, sampler="random",
            ensemble=False)


def _trend(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A target that follows a trend in time: random folds interpolate between neighbouring times, the
    future has to be extrapolated."""
    rng = np.random.default_rng(seed)
    t = rng.permutation(n).astype(float)  # the rows are not stored in time order
    return pd.DataFrame({"t": t, "noise": rng.normal(size=n), "y": 0.05 * t + rng.normal(0, 0.5, n)})


def test_time_ordered_folds_score_the_future_where_random_folds_interpolate():
    frame = _trend()
    shuffled = tune(frame, target="y", n_trials=3, cv=4, **FAST)
    ordered = tune(frame, target="y", n_trials=3, cv=4, time_column="t", **FAST)
    assert ordered.best_score > 3 * shuffled.best_score  # rmse: trees cannot extrapolate the trend
    assert any(n.startswith("time-ordered folds by column 't'") for n in ordered.summary.notes)


def test_small_data_keep_one_split_the_latest_block_first():
    frame = _trend(n=200)  # below 500 rows a shuffled plan repeats its folds; time order has one split
    res = tune(frame, target="y", n_trials=2, **FAST)
    ordered = tune(frame, target="y", n_trials=2, time_column="t", **FAST)
    assert res.summary.to_dict()["evaluation"] != ordered.summary.to_dict()["evaluation"]
    assert "repeat" not in ordered.summary.to_dict()["evaluation"]
    for t in ordered.study.trials:
        assert len(t.user_attrs["fold_scores"]) == 5


def test_a_study_is_resumed_only_in_the_same_time_order(tmp_path):
    frame = _trend(n=120)
    run = dict(target="y", n_trials=1, cv=3, storage=f"sqlite:///{tmp_path / 't.db'}", study_name="t", **FAST)
    tune(frame, time_column="t", **run)
    tune(frame, time_column="t", **run)
    with pytest.raises(ConfigError, match="was run with time-ordered folds; pass the same --time-column"):
        tune(frame, **run)
    with pytest.raises(ConfigError, match="another time order"):
        tune(frame, time_column="noise", **run)  # the same data ordered by another column


def test_cli_time_column_and_predict(tmp_path, capsys):
    import json

    from metaopt.cli import main

    frame = _trend(n=150)
    frame["day"] = (pd.Timestamp("2024-01-01") + pd.to_timedelta(frame["t"], unit="D")).dt.strftime("%Y-%m-%d")
    path = tmp_path / "sales.csv"
    frame.drop(columns="t").to_csv(path, index=False)
    model = tmp_path / "m.joblib"
    code = main(["tune", str(path), "--target", "y", "--time-column", "day", "--trials", "2", "--cv", "3",
                 "--learner", "lightgbm", "--json", "--quiet", "--output", str(model)])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and any(n.startswith("time-ordered folds by column 'day'") for n in doc["notes"])
    assert main(["predict", str(model), str(path), "--output", str(tmp_path / "p.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "p.csv")) == len(frame)
    assert main(["tune", str(path), "--target", "y", "--time-column", "noise2", "--quiet"]) == 2
    assert "unknown time column 'noise2'" in capsys.readouterr().err


def test_a_training_fold_without_a_class_is_said():
    """Time order cannot stratify: the earliest rows may hold no positive at all."""
    rng = np.random.default_rng(0)
    t = np.arange(300.0)
    y = np.where((t > 60) & (rng.random(300) < 0.4), "yes", "no")
    frame = pd.DataFrame({"t": t, "x": rng.normal(size=300) + (y == "yes"), "y": y})
    ordered = tune(frame, target="y", n_trials=1, cv=5, time_column="t", **FAST)
    assert "1 of 5 training folds lack class(es) 'yes': earlier rows hold none" in " ".join(ordered.summary.notes)
    shuffled = tune(frame, target="y", n_trials=1, cv=5, **FAST)
    assert not any("training folds lack" in n for n in shuffled.summary.notes)


def test_estimators_take_the_time_column_by_name_or_position():
    from metaopt.estimators import MetaTunedRegressor

    frame = _trend()
    X, y = frame[["t", "noise"]], frame["y"]
    kw = dict(learner="lightgbm", n_trials=3, cv=4, warm_start=False, sampler="random", ensemble=False)
    shuffled = MetaTunedRegressor(**kw).fit(X, y)
    by_name = MetaTunedRegressor(time_column="t", **kw).fit(X, y)
    by_position = MetaTunedRegressor(time_column=0, **kw).fit(X.to_numpy(), y.to_numpy())
    assert by_name.best_score_ > 3 * shuffled.best_score_  # rmse of the future, as tune() reports it
    assert by_position.best_score_ == pytest.approx(by_name.best_score_)
    assert any(n.startswith("time-ordered folds by column 't'") for n in by_name.summary_["notes"])
    assert by_name.predict(X).shape == (len(X),)  # the time column stays a feature
    with pytest.raises(ConfigError, match="time_column"):
        MetaTunedRegressor(time_column=2, **kw).fit(X.to_numpy(), y.to_numpy())
    from metaopt.exceptions import TimeOrderError

    with pytest.raises(TimeOrderError):
        MetaTunedRegressor(time_column="when", **kw).fit(X, y)


def test_folds_are_capped_by_the_distinct_times():
    """Weekly times in 120 rows: four weeks allow three folds at most, since a week is never split."""
    frame = _trend(n=120)
    frame["week"] = (frame["t"] // 30).astype(int)  # 4 distinct times
    res = tune(frame, target="y", n_trials=1, time_column="week", **FAST)
    week = frame["week"].to_numpy()
    for t in res.study.trials:
        assert len(t.user_attrs["fold_scores"]) == 3  # cv="auto" takes the 3 the weeks allow
    with pytest.raises(ConfigError, match="holds only 4 distinct times.*use cv <= 3"):
        tune(frame, target="y", n_trials=1, cv=4, time_column="week", **FAST)
    frame["half"] = (week >= 2).astype(int)
    with pytest.raises(ConfigError, match="holds 2 distinct times; time-ordered folds need at least 3"):
        tune(frame, target="y", n_trials=1, time_column="half", **FAST)
