"""Fixtures of the tuning tests: small real datasets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tuning_support import EXAMPLE, REPO, corpus_file  # noqa: F401  (the fixtures use them)


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
