"""``load_data(groups=...)``: the rows that belong together, for grouped cross-validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metaopt import load_data
from metaopt.exceptions import DataError, GroupsError


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 60
    return pd.DataFrame({"patient": [f"p{i // 3}" for i in range(n)], "x": rng.normal(size=n),
                         "z": rng.integers(0, 4, n), "y": rng.choice(["a", "b"], n)})


def test_a_groups_column_leaves_the_features_and_is_kept_per_row(frame):
    ds = load_data(frame, target="y", groups="patient")
    assert list(ds.X.columns) == ["x", "z"] and ds.dropped["patient"] == "groups"
    assert ds.groups.tolist() == frame["patient"].tolist() and ds.groups.name == "patient"
    assert any("grouped folds: 20 groups of column 'patient'" in n for n in ds.notes)
    assert load_data(frame, target="y").groups is None


def test_group_labels_per_row_and_rows_without_a_target_drop_their_label(frame):
    frame.loc[[0, 5], "y"] = None
    labels = np.arange(len(frame)) // 6
    ds = load_data(frame.drop(columns="patient"), target="y", groups=labels)
    assert ds.n_rows == 58 and ds.groups.tolist() == np.delete(labels, [0, 5]).tolist()
    again = load_data(ds, groups=np.zeros(58))  # a Dataset's groups replaced
    assert again.groups.nunique() == 1 and load_data(ds).groups is ds.groups


@pytest.mark.parametrize("groups, fragment", [
    ("patiant", "unknown groups column 'patiant' in the data: did you mean 'patient'?"),
    ("y", "is the target"),
    (np.arange(5), "groups has 5 value(s) but the data has 60 rows"),
    (np.r_[np.nan, np.arange(59)], "missing in 1 of 60 rows"),
])
def test_unusable_groups_are_one_specific_error(frame, groups, fragment):
    with pytest.raises(GroupsError, match=fragment.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")) as info:
        load_data(frame, target="y", groups=groups)
    assert isinstance(info.value, DataError) and "\n" not in str(info.value)
