"""Can meta-feature nearness tell "the same table again" (new rows, same columns) from another KB task?

The question behind offering a user's own ``kb add-study`` configurations for a later version of the same
table: each corpus table is split into two random halves (stratified for classification, seed 0), the
meta-features of each half are computed as ``recommend`` computes them, and the distance between the halves
(in the LightGBM meta-model's neighbour space) is printed beside the distance of the second half to its
nearest KB task (the full table itself is among them for corpus tables) and the KB's own
nearest-other-task distances.  Where the halves are not clearly closer than other tasks, a nearness
threshold cannot recognise a refreshed table, and a schema match (same columns and target) would be needed.

    python benchmarks/report_half_table_distance.py abalone credit-g pollen vowel   # corpus names
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
from sklearn.model_selection import train_test_split

import metaopt
from metaopt.features import extract_meta_features
from metaopt.metamodel import Query
from metaopt.recommender import QUERY_GROUPS, get_recommender

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "tests"))
from shared_support import shared_data_dir  # noqa: E402 - the tests' locator of ../shared/data


def half_meta(ds, rows: np.ndarray) -> dict:
    part = metaopt.load_data(ds.X.iloc[rows].reset_index(drop=True), ds.y.iloc[rows].reset_index(drop=True),
                             kind=ds.kind)
    return dict(extract_meta_features(part, groups=QUERY_GROUPS).values)


def main(names: list[str]) -> None:
    warnings.simplefilter("ignore")
    model = get_recommender(None, "lightgbm").model
    ref = model.nn_.reference_distances_
    print("KB tasks' distance to their nearest other task, quantiles 5/10/25/50 %:",
          " / ".join(f"{q:.3f}" for q in np.quantile(ref, [0.05, 0.1, 0.25, 0.5])))
    print(f"{'table':28s} {'rows':>6s} {'half-half':>9s} {'half-KB':>8s}")
    space, closer = model.nn_.space_, 0
    for name in names:
        ds = metaopt.load_data(str(shared_data_dir() / "corpus" / f"{name}.arff"))
        rows = np.arange(ds.n_rows)
        a, b = train_test_split(rows, test_size=0.5, random_state=0,
                                stratify=None if ds.kind == "regression" else ds.y)
        meta_a, meta_b = half_meta(ds, a), half_meta(ds, b)
        d_halves = float(np.ravel(space.distances(space.transform(meta_a), space.transform(meta_b)))[0])
        d_kb = float(np.min(model.nn_.distances(Query(ds.kind, meta_b, None))))
        closer += d_halves < d_kb
        print(f"{name:28s} {ds.n_rows:6d} {d_halves:9.3f} {d_kb:8.3f}")
    print(f"halves closer to each other than the second half to its nearest KB task: {closer} of {len(names)}")


if __name__ == "__main__":
    main(sys.argv[1:])
