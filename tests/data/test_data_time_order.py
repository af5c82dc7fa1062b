"""``load_data(time_column=...)``: the rows' order in time, for folds that test later rows than they fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metaopt import load_data
from metaopt.exceptions import DataError, TimeOrderError


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 50
    days = pd.date_range("2024-01-01", periods=n, freq="D")
    return pd.DataFrame({"day": days.astype(str)[rng.permutation(n)], "step": rng.permutation(n) * 1.5,
                         "x": rng.normal(size=n), "y": rng.choice(["a", "b"], n)})


def test_dates_and_numbers_give_the_rows_order_and_stay_features(frame):
    by_day = load_data(frame, target="y", time_column="day")
    assert by_day.time_order.name == "day" and "day_days" in by_day.X.columns  # the date is still a feature
    assert np.array_equal(np.argsort(by_day.time_order.to_numpy()),
                          np.argsort(pd.to_datetime(frame["day"]).to_numpy()))
    by_step = load_data(frame, target="y", time_column="step")
    assert by_step.time_order.tolist() == frame["step"].tolist() and "step" in by_step.X.columns
    assert any(n.startswith("time-ordered folds by column 'step'") for n in by_step.notes)
    assert load_data(frame, target="y").time_order is None


def test_times_shared_by_several_rows_are_said(frame):
    frame["week"] = np.arange(len(frame)) // 7
    note = next(n for n in load_data(frame, target="y", time_column="week").notes if n.startswith("time-ordered"))
    assert "(8 distinct times in 50 rows: the rows of one time are never split between training and test)" in note
    unique = next(n for n in load_data(frame, target="y", time_column="step").notes if n.startswith("time-ordered"))
    assert "distinct times" not in unique


def test_rows_without_a_target_drop_their_time(frame):
    frame.loc[[3, 7], "y"] = None
    ds = load_data(frame, target="y", time_column="step")
    assert ds.time_order.tolist() == frame["step"].drop([3, 7]).tolist()


@pytest.mark.parametrize("change, kwargs, fragment", [
    (None, dict(time_column="dya"), "unknown time column 'dya' in the data: did you mean 'day'?"),
    (None, dict(time_column="y"), "is the target"),
    ("text", dict(time_column="x"), "holds neither numbers nor dates"),
    ("gap", dict(time_column="step"), "missing in 1 of 50 rows"),
    (None, dict(time_column="step", groups="day"), "not both"),
    ("constant", dict(time_column="day"), "time column 'day' holds a single value ('2024-01-01'), so no row is "
                                          "earlier than another"),
])
def test_unusable_times_are_one_specific_error(frame, change, kwargs, fragment):
    if change == "text":
        frame["x"] = [f"item {i}" for i in range(len(frame))]
    if change == "gap":
        frame.loc[4, "step"] = np.nan
    if change == "constant":
        frame["day"] = "2024-01-01"
    with pytest.raises(TimeOrderError) as info:
        load_data(frame, target="y", **kwargs)
    assert fragment in str(info.value) and isinstance(info.value, DataError) and "\n" not in str(info.value)
