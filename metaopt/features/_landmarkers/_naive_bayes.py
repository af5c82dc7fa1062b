"""NaiveBayes landmarker, written here to be close to Weka's (scikit-learn has no mixed-type NB).

Gaussian numerics with the standard deviation floored at ``precision / 6`` (precision = mean
gap between distinct values, Weka's ``NormalEstimator``), Laplace-smoothed nominals, missing
values ignored.  Weka integrates the density over the precision interval; we use the density.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp


def numeric_precision(num: np.ndarray) -> np.ndarray:
    """Weka NormalEstimator's precision: mean gap between distinct values (0.01 if < 2)."""
    out = np.full(num.shape[1], 0.01)
    for j in range(num.shape[1]):
        v = np.unique(num[:, j][~np.isnan(num[:, j])])
        if v.size > 1:
            out[j] = (v[-1] - v[0]) / (v.size - 1)
    return out


def _gaussian_loglik(num_tr: np.ndarray, y_tr: np.ndarray, num_te: np.ndarray, k: int,
                     precision: np.ndarray) -> np.ndarray:
    """Sum over numeric features of log N(x | mu_c, sd_c), observed and fitted only: (test rows, k)."""
    obs_tr = ~np.isnan(num_tr)
    x0 = np.where(obs_tr, num_tr, 0.0)
    Y = np.zeros((y_tr.size, k))
    Y[np.arange(y_tr.size), y_tr] = 1.0
    n_c = Y.T @ obs_tr.astype(float)                    # (k, p)
    s1 = Y.T @ x0
    s2 = Y.T @ (x0 * x0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.where(n_c > 0, s1 / np.maximum(n_c, 1), 0.0)
        var = np.where(n_c > 0, s2 / np.maximum(n_c, 1) - mu * mu, 0.0)
    sd = np.sqrt(np.maximum(var, 0.0))
    sd = np.maximum(sd, precision[None, :] / 6.0)
    obs_te = ~np.isnan(num_te)
    xt = np.where(obs_te, num_te, 0.0)
    fitted = n_c > 0
    inv = np.where(fitted, 1.0 / sd, 0.0)
    a = inv * inv                                       # (k, p)
    ll = -0.5 * ((xt * xt * obs_te) @ a.T - 2 * (xt * obs_te) @ (a * mu).T
                 + obs_te @ (a * mu * mu).T)
    ll -= obs_te @ np.where(fitted, np.log(sd) + 0.5 * math.log(2 * math.pi), 0.0).T
    return ll


def naive_bayes(num_tr: np.ndarray, cat_tr: np.ndarray, y_tr: np.ndarray, num_te: np.ndarray,
                cat_te: np.ndarray, k: int, n_levels: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Class probabilities of the test rows: Gaussian numerics, Laplace nominals, missing ignored."""
    cnt = np.bincount(y_tr, minlength=k).astype(float)
    logp = np.tile(np.log((cnt + 1.0) / (cnt.sum() + k)), (num_te.shape[0], 1))
    present = cnt > 0
    if num_tr.shape[1]:
        logp += _gaussian_loglik(num_tr, y_tr, num_te, k, precision)
    for j in range(cat_tr.shape[1]):
        L = int(n_levels[j])
        ok = cat_tr[:, j] >= 0
        tab = np.zeros((k, L))
        np.add.at(tab, (y_tr[ok], cat_tr[ok, j]), 1.0)
        lp = np.log((tab + 1.0) / (tab.sum(axis=1, keepdims=True) + L))   # (k, L)
        v = cat_te[:, j]
        okt = v >= 0
        logp[okt] += lp[:, v[okt]].T
    logp[:, ~present] = -np.inf
    lse = logsumexp(logp, axis=1, keepdims=True)
    return np.exp(logp - lse)
