"""``metaopt.utils.check_scalar``: scikit-learn's check plus bools, NaN and ConfigError messages."""

from __future__ import annotations

import math
import numbers

import numpy as np
import pytest

from metaopt.exceptions import ConfigError
from metaopt.utils import check_scalar


@pytest.mark.parametrize("value, kwargs, message", [
    (0, dict(min_val=1), "k must be a positive integer, got 0"),
    (True, dict(min_val=1), "k must be a positive integer, got True"),  # bool is an Integral: refused
    (2.0, dict(min_val=1), "k must be a positive integer, got 2.0"),
    ("3", dict(min_val=1), "k must be a positive integer, got '3'"),
    (1, dict(min_val=2), "k must be an integer >= 2, got 1"),
    (11, dict(min_val=0, max_val=10), r"k must be an integer in \[0, 10\], got 11"),
    (None, dict(min_val=1), "k must be a positive integer, got None"),
])
def test_integers_are_refused_with_a_config_error(value, kwargs, message):
    with pytest.raises(ConfigError, match=f"^{message}$"):
        check_scalar(value, "k", numbers.Integral, **kwargs)


@pytest.mark.parametrize("value, kwargs", [
    (0.0, dict(min_val=0, include_boundaries="neither")),
    (float("nan"), dict(min_val=0, include_boundaries="neither")),  # NaN passes scikit-learn's comparisons
    (float("nan"), {}),
    (False, dict(min_val=0, include_boundaries="neither")),
    (math.inf, dict(min_val=0, max_val=math.inf, include_boundaries="neither")),
    (-math.inf, dict(min_val=0, include_boundaries="neither")),
])
def test_reals_are_refused_with_a_config_error(value, kwargs):
    with pytest.raises(ConfigError, match=r"^timeout must be a (positive )?number of seconds, got "):
        check_scalar(value, "timeout", numbers.Real, unit="seconds", **kwargs)


def test_valid_values_are_returned_as_python_scalars():
    out = check_scalar(np.int64(3), "k", numbers.Integral, min_val=1)
    assert out == 3 and type(out) is int
    out = check_scalar(np.float32(0.5), "t", numbers.Real, min_val=0, include_boundaries="neither")
    assert out == 0.5 and type(out) is float
    assert check_scalar(1, "t", numbers.Real, min_val=0, include_boundaries="neither") == 1.0
    assert check_scalar(math.inf, "t", numbers.Real, min_val=0, include_boundaries="neither") == math.inf
    assert check_scalar(None, "n", numbers.Integral, min_val=1, allow_none=True) is None
    assert check_scalar(True, "flag", (bool, numbers.Integral)) is True  # bool named: accepted
    # the open bounds scikit-learn calls inconsistent ('right' without max_val, 'left' without min_val)
    assert check_scalar(5, "n", numbers.Integral, min_val=0, include_boundaries="right") == 5
    assert check_scalar(-5, "n", numbers.Integral, max_val=0, include_boundaries="left") == -5
    with pytest.raises(ConfigError, match="n must be an integer > 0"):
        check_scalar(0, "n", numbers.Integral, min_val=0, include_boundaries="right")


def test_a_bad_include_boundaries_is_a_programming_error():
    with pytest.raises(ValueError, match="include_boundaries") as info:
        check_scalar(1, "n", numbers.Integral, include_boundaries="open")
    assert not isinstance(info.value, ConfigError)


def test_callers_use_it():
    """The checks that were hand-written in recommend and extract_meta_features now refuse bools too."""
    import pandas as pd

    from metaopt import recommend
    from metaopt.features import extract_meta_features

    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0] * 5, "y": [0, 1] * 10})
    with pytest.raises(ConfigError, match="k must be a positive integer, got True"):
        recommend(df, target="y", k=True)
    with pytest.raises(ConfigError, match="time_budget must be a positive number of seconds, got inf"):
        recommend(df, target="y", time_budget=math.inf)
    with pytest.raises(ConfigError, match="max_rows must be a positive integer, got False"):
        extract_meta_features(df.drop(columns="y"), df["y"], max_rows=False)


def test_import_metaopt_does_not_load_scikit_learn():
    """scikit-learn's check is imported on first use: ``import metaopt`` (every CLI start) stays light."""
    import subprocess
    import sys

    code = ("import sys, metaopt, metaopt.utils\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
