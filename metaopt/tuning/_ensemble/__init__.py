"""Ensembles of a tuning run's trials: out-of-fold predictions, greedy selection, the fitted ensemble."""

from metaopt.tuning._ensemble._build import (
    ENSEMBLE_FIT,
    ENSEMBLE_INIT,
    ENSEMBLE_SIZE,
    MAX_BLEND_SHORTFALL,
    MAX_CANDIDATES,
    PER_LEARNER,
    REFIT_SEEDS,
    SEED_SHARE,
    Candidate,
    add_seeds,
    blend_score,
    blend_shortfall,
    candidate_pool,
    describe,
    fit_members,
    gather_candidates,
    keeps_blend,
    room_by_rows,
    room_by_time,
    select,
)
from metaopt.tuning._ensemble._fitted import EnsembleFit, Member
from metaopt.tuning._ensemble._oof import OofStore
from metaopt.tuning._ensemble._selection import Selection, greedy_selection

__all__ = ["ENSEMBLE_FIT", "ENSEMBLE_INIT", "ENSEMBLE_SIZE", "MAX_BLEND_SHORTFALL", "MAX_CANDIDATES", "PER_LEARNER",
           "REFIT_SEEDS", "SEED_SHARE", "Candidate", "EnsembleFit", "Member", "OofStore", "Selection", "add_seeds",
           "blend_score", "blend_shortfall", "candidate_pool", "describe", "fit_members", "gather_candidates",
           "greedy_selection", "keeps_blend", "room_by_rows", "room_by_time", "select"]
