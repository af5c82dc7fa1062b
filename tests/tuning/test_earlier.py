"""Earlier studies of the same table in the run's storage come first (``metaopt.tuning._earlier``): real tune
runs on two versions of credit-g (its rows cut in two) into one SQLite or PostgreSQL storage, a study per version."""

from __future__ import annotations

import sys
from pathlib import Path

import optuna
import pandas as pd
import pytest

from metaopt.tuning import tune
from tuning_support import start_together, summary_of

CREDIT_G = Path(__file__).resolve().parents[2] / "examples" / "data" / "credit-g.csv"
RUN = dict(target="class", learner="lightgbm", cv=3, progress=False, ensemble=False, random_state=0)


@pytest.fixture()
def versions() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = pd.read_csv(CREDIT_G).sample(frac=1.0, random_state=0)
    return rows.iloc[:500].reset_index(drop=True), rows.iloc[500:].reset_index(drop=True)


def _first(study) -> optuna.trial.FrozenTrial:
    return min(study.trials, key=lambda t: t.number)


def _own_note(notes: list[str]) -> str | None:
    return next((n for n in notes if "your own study" in n), None)


def test_next_months_study_starts_from_last_months_best_trial(tmp_path, versions):
    url = f"sqlite:///{tmp_path / 'tune.db'}"
    nov = tune(versions[0], n_trials=3, storage=url, study_name="nov", **RUN)
    assert _own_note(nov.notes) is None  # nothing earlier in the storage
    again = tune(versions[0], n_trials=1, storage=url, study_name="nov", **RUN)
    assert _own_note(again.notes) is None  # a resumed study is not its own earlier study
    dec = tune(versions[1], n_trials=2, storage=url, study_name="dec", **RUN)
    best = optuna.load_study(study_name="nov", storage=url).best_trial
    first = _first(dec.study)
    assert first.user_attrs["metaopt:config_id"] == f"study:nov/{best.number}"
    assert first.user_attrs["config"] == best.user_attrs["config"]
    assert _own_note(dec.notes) == ("warm start: first the best trial of your own study 'nov' on a table with these "
                                    f"columns and target (study:nov/{best.number}; in this storage)")
    resumed = tune(versions[1], n_trials=1, storage=url, study_name="dec", **RUN)
    assert _own_note(resumed.notes) == ("warm start: the best trial of your own study 'nov' on a table with these "
                                        f"columns and target (study:nov/{best.number}; in this storage) ran in an "
                                        f"earlier run of this study, as trial {first.number}")
    assert [t.user_attrs.get("metaopt:config_id") for t in resumed.study.trials].count(f"study:nov/{best.number}") == 1


def test_another_table_metric_or_a_cold_start_takes_none(tmp_path, versions):
    url = f"sqlite:///{tmp_path / 'tune.db'}"
    tune(versions[0], n_trials=2, storage=url, study_name="nov", **RUN)
    fewer = tune(versions[1].drop(columns=["age"]), n_trials=1, storage=url, study_name="other", **RUN)
    assert _own_note(fewer.notes) is None and not str(_first(fewer.study).user_attrs.get("metaopt:config_id")
                                                        ).startswith("study:")
    loss = tune(versions[1], n_trials=1, storage=url, study_name="loss", metric="log_loss", **RUN)
    assert _own_note(loss.notes) is None  # another objective: its best trial is not this one's
    cold = tune(versions[1], n_trials=1, storage=url, study_name="cold", warm_start=False, **RUN)
    assert _own_note(cold.notes) is None


def test_auto_searches_the_learner_of_the_earlier_best_first(tmp_path, versions):
    url = f"sqlite:///{tmp_path / 'tune.db'}"
    forest = {**RUN, "learner": "random_forest"}
    tune(versions[0], n_trials=2, storage=url, study_name="nov", **forest)
    best = optuna.load_study(study_name="nov", storage=url).best_trial
    dec = tune(versions[1], n_trials=1, storage=url, study_name="dec", **{**RUN, "learner": "auto"})
    assert dec.learner == "random_forest"
    assert _first(dec.study).user_attrs["metaopt:config_id"] == f"study:nov/{best.number}"


def test_two_postgresql_workers_starting_together_run_last_months_best_once(postgres_url, versions, tmp_path):
    """A shared PostgreSQL storage: both workers of December find November's study; its trial runs once."""
    import psycopg2

    conn = psycopg2.connect(postgres_url.replace("postgresql+psycopg2", "postgresql"))
    conn.autocommit = True
    conn.cursor().execute("CREATE DATABASE earlier")
    conn.close()
    url = postgres_url.rsplit("/", 1)[0] + "/earlier"
    tune(versions[0], n_trials=2, storage=url, study_name="nov", **RUN)
    best = optuna.load_study(study_name="nov", storage=url).best_trial
    versions[1].to_csv(tmp_path / "dec.csv", index=False)
    cmd = [sys.executable, "-m", "metaopt", "tune", str(tmp_path / "dec.csv"), "--target", "class", "--trials", "2",
           "--cv", "3", "--learner", "lightgbm", "--no-ensemble", "-q", "--json", "--storage", url,
           "--study-name", "dec"]
    procs = start_together([[*cmd, "--seed", str(seed)] for seed in (0, 1)], tmp_path / "go")
    for proc in procs:
        assert any("your own study 'nov'" in n for n in summary_of(proc)["notes"])
    ids = [t.user_attrs.get("metaopt:config_id") for t in optuna.load_study(study_name="dec", storage=url).trials]
    assert ids.count(f"study:nov/{best.number}") == 1, ids
