"""Fixtures of the tuning tests: small real datasets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from shared_support import shared_data_dir

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "data" / "credit-g.csv"


def corpus_file(name: str) -> Path:
    path = shared_data_dir() / "corpus" / name
    if not path.is_file():
        pytest.skip(f"corpus file {name} not found under {shared_data_dir()} (set METAOPT_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def credit_small() -> pd.DataFrame:
    """300 rows of credit-g (stratified by taking every class in proportion)."""
    df = pd.read_csv(EXAMPLE)
    return df.groupby("class", group_keys=False).sample(frac=0.3, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="session")
def iris_path() -> Path:
    return corpus_file("iris.arff")


@pytest.fixture(scope="session")
def autompg_path() -> Path:
    return corpus_file("autompg.arff")


@pytest.fixture(scope="session")
def servo_path() -> Path:
    return corpus_file("servo.arff")
