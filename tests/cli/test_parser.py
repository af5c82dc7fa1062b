"""The command line's parser (``metaopt/cli/__init__.py``): errors in one line, exit code 2."""

from __future__ import annotations

import pytest

from metaopt.cli import main


@pytest.mark.parametrize("argv, unknown", [
    (["tune", "data.csv", "--study", "sqlite:///t.db"], "--study"),   # not --study-name: no in-memory study named so
    (["tune", "data.csv", "--time", "30"], "--time"),                 # not --timeout / --time-budget
    (["recommend", "data.csv", "--learn", "lightgbm"], "--learn"),
])
def test_abbreviated_options_are_refused_in_one_line(argv, unknown, capsys):
    with pytest.raises(SystemExit) as ei:
        main(argv)
    err = capsys.readouterr().err
    assert ei.value.code == 2
    assert err.startswith("metaopt: error: unrecognized arguments:") and unknown in err and err.count("\n") == 1
