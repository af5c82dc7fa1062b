"""The metrics ``tune`` may optimise (``core/_metrics.py``): the protocol's, and those the KB does not record."""

from __future__ import annotations

import numpy as np
import pytest

from metaopt.core import ALL_METRICS, GREATER_IS_BETTER, KIND_METRICS, TUNE_METRICS, score_predictions


def test_tuning_metrics_extend_the_protocol_without_changing_what_the_kb_records():
    assert ALL_METRICS == ("roc_auc", "log_loss", "accuracy", "rmse", "r2")  # the KB schema's metric columns
    for kind, metrics in TUNE_METRICS.items():
        assert metrics[:len(KIND_METRICS[kind])] == KIND_METRICS[kind]
        assert all(m in GREATER_IS_BETTER for m in metrics)
    proba = np.array([[0.9, 0.1], [0.2, 0.8]])
    assert set(score_predictions(proba, np.array([0, 1]), "binary")) == set(KIND_METRICS["binary"])


def test_binary_label_metrics_score_the_second_class_as_positive():
    yt = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    p1 = np.array([0.1, 0.6, 0.2, 0.9, 0.8, 0.4, 0.7, 0.3])  # predicted 1: rows 1, 3, 4, 6
    proba = np.c_[1 - p1, p1]
    got = score_predictions(proba, yt, "binary", ("f1", "balanced_accuracy", "average_precision"))
    tp, fp, fn = 3, 1, 2
    assert got["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert got["balanced_accuracy"] == pytest.approx((2 / 3 + 3 / 5) / 2)
    # by score the positives are 1st, 2nd, 3rd, 5th and 6th: precision at each positive, averaged
    assert got["average_precision"] == pytest.approx(np.mean([1 / 1, 2 / 2, 3 / 3, 4 / 5, 5 / 6]))
    flipped = score_predictions(proba[:, ::-1], 1 - yt, "binary", ("average_precision",))
    assert flipped["average_precision"] != pytest.approx(got["average_precision"])  # the positive class matters
    one_class = score_predictions(proba, np.ones(8, dtype=int), "binary", ("average_precision",))
    assert np.isnan(one_class["average_precision"])


def test_multiclass_f1_is_the_macro_average_and_mae_the_mean_absolute_error():
    yt = np.array([0, 0, 1, 1, 2, 2])
    proba = np.eye(3)[[0, 1, 1, 1, 2, 0]]
    got = score_predictions(proba, yt, "multiclass", ("f1", "balanced_accuracy"))
    assert got["f1"] == pytest.approx(np.mean([0.5, 0.8, 2 / 3]))
    assert got["balanced_accuracy"] == pytest.approx(np.mean([0.5, 1.0, 0.5]))
    reg = score_predictions(np.array([[1.0], [2.0], [5.0]]), np.array([1.5, 2.0, 3.0]), "regression", ("mae",))
    assert reg["mae"] == pytest.approx(2.5 / 3)
