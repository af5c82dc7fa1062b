"""Every corpus file in catalog.csv loads with its catalog target, and rows (minus rows with a
missing target), task kind and class counts match the catalog. Skips when the shared corpus is
absent. Marked slow (about 5-10 s for all 202 files)."""

from __future__ import annotations

import pandas as pd
import pytest

from data_support import CORPUS, HAVE_CORPUS
from metaopt.data import content_hash, load_data

# identifier columns the catalog README says are best dropped (all must be detected)
KNOWN_ID_COLUMNS = {
    "analcatdata_impeach": "Name", "balloon": "id", "baseball-hitter": "hitters_name",
    "baseball-pitcher": "pitchers_name", "christensen-llm_trauma": "ID", "csb_ch11a": "Observation_No.",
    "csb_ch11b": "Observation_number", "csb_ch14": "Patient_ID", "csb_ch15": "Patient_ID",
    "csb_ch20": "id", "flags": "name", "humandevel": "rank", "pollen": "OBSERVATION_NUMBER",
    "spectrometer": "LRS-name", "transplant": "obs", "breast-w": "Id", "splice": "Instance_name",
}
# rows with a missing target, per the catalog README
MISSING_TARGET = {"analcatdata_draft": 1, "analcatdata_homerun": 1, "analcatdata_marketing": 21,
                  "analcatdata_reviewer": 50, "analcatdata_whale": 5, "autohorse": 2,
                  "bridges.version1": 2, "colleges_usnews": 98, "Ozone": 5, "stanford": 60}


def _rows():
    if not HAVE_CORPUS:
        return [pytest.param(None, id="corpus-missing")]
    cat = pd.read_csv(CORPUS / "catalog.csv")
    return [pytest.param(r, id=r["name"]) for r in cat.to_dict("records")]


@pytest.mark.slow
@pytest.mark.parametrize("row", _rows())
def test_corpus_file_matches_catalog(row):
    if row is None:
        pytest.skip(f"shared corpus not found at {CORPUS} (set METAOPT_SHARED_DATA)")
    ds = load_data(CORPUS / row["file"], row["target"])
    n_missing = MISSING_TARGET.get(row["name"], 0)
    assert ds.meta["n_rows_raw"] == row["n_rows"]
    assert ds.meta["n_missing_target"] == n_missing
    assert ds.n_rows == row["n_rows"] - n_missing
    assert ds.kind == row["task"]
    if row["task"] != "regression":
        assert ds.y.cat.categories.size == int(row["n_classes"])
    else:
        assert ds.y.dtype == "float64"
    # every feature accounted for: kept, dropped, or expanded (no datetimes in this corpus)
    assert ds.n_features + len(ds.dropped) == row["n_features"]
    if row["name"] in KNOWN_ID_COLUMNS:
        assert ds.dropped.get(KNOWN_ID_COLUMNS[row["name"]]) == "id-like"
    assert not ds.y.isna().any()
    assert all(str(t) in ("float64", "category") for t in ds.X.dtypes)
    assert len(content_hash(ds)) == 64
