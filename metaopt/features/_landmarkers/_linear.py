"""Linear landmarkers (metaopt's own, ``mo_``): shrunk LDA for classes, ridge for numbers.

Both see standardised numerics plus one-hot nominals; they tell the meta-model how far a linear
boundary gets, which no OpenML landmarker does.
"""

from __future__ import annotations

import numpy as np

from metaopt.features._landmarkers._trees import full_proba


def _standardised(X: np.ndarray, tr: np.ndarray) -> np.ndarray:
    """``X`` standardised with the training rows' mean and deviation; NaN -> 0."""
    mu, sd = np.nanmean(X[tr], axis=0), np.nanstd(X[tr], axis=0)
    mu = np.nan_to_num(mu)
    sd = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
    return np.nan_to_num((X - mu) / sd)


def lda_proba(X: np.ndarray, tr: np.ndarray, te: np.ndarray, ytr: np.ndarray, k: int) -> np.ndarray:
    """Class probabilities of a shrunk linear discriminant; the prior on degenerate data."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    Xs = _standardised(X, tr)
    try:
        lda = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto").fit(Xs[tr], ytr)
        return full_proba(lda, lda.predict_proba(Xs[te]), k)
    except Exception:  # noqa: BLE001 - degenerate data: fall back to the prior
        return np.bincount(ytr, minlength=k) / ytr.size


def ridge_predict(X: np.ndarray, tr: np.ndarray, te: np.ndarray, ytr: np.ndarray) -> np.ndarray:
    """Predictions of a barely regularised least-squares fit (the ``LinearRegression`` landmarker)."""
    from sklearn.linear_model import Ridge

    Xs = _standardised(X, tr)
    return Ridge(alpha=1e-3 * tr.size).fit(Xs[tr], ytr).predict(Xs[te])
