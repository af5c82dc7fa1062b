"""Bad input: each case raises a specific DataError subclass with a one-line message that
says what is wrong and what to do."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from metaopt.data import as_dataset, load_data
from metaopt.exceptions import (
    DataError,
    DataFileError,
    DuplicateColumnError,
    EmptyDataError,
    MetaoptError,
    MissingFileError,
    NoFeaturesError,
    NotTabularError,
    SingleClassError,
    TargetError,
    TargetMissingError,
    TooFewRowsError,
    UnknownTargetError,
)


def _one_line(exc: BaseException) -> str:
    msg = str(exc)
    assert "\n" not in msg, msg
    assert len(msg) < 400, msg
    return msg


def _frame(n=20, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(0, 5, n).astype(float),
                         "label": np.where(np.arange(n) % 2 == 0, "x", "y")})


def test_hierarchy():
    for cls in (MissingFileError, EmptyDataError, NotTabularError):
        assert issubclass(cls, DataFileError)
    for cls in (UnknownTargetError, TargetMissingError, SingleClassError):
        assert issubclass(cls, TargetError)
    for cls in (DataFileError, TargetError, DuplicateColumnError, TooFewRowsError, NoFeaturesError):
        assert issubclass(cls, DataError) and issubclass(cls, MetaoptError) and issubclass(cls, ValueError)


def test_missing_file(tmp_path):
    with pytest.raises(MissingFileError) as ei:
        load_data(tmp_path / "nope.csv")
    msg = _one_line(ei.value)
    assert "not found" in msg and "nope.csv" in msg


def test_directory(tmp_path):
    with pytest.raises(DataFileError, match="directory"):
        load_data(tmp_path)


def test_unreadable_file(tmp_path, monkeypatch):
    from pathlib import Path

    p = tmp_path / "locked.csv"
    p.write_text("a,b\n1,2\n")

    def deny(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", deny)  # chmod does not stop root
    with pytest.raises(DataFileError) as ei:
        load_data(p)
    assert "cannot read" in _one_line(ei.value) and "Permission denied" in str(ei.value)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_bytes(b"")
    with pytest.raises(EmptyDataError) as ei:
        load_data(p)
    assert "0 bytes" in _one_line(ei.value)


def test_whitespace_only_file(tmp_path):
    p = tmp_path / "blank.csv"
    p.write_text("\n  \n\n")
    with pytest.raises(EmptyDataError):
        load_data(p)


def test_header_only_csv(tmp_path):
    p = tmp_path / "head.csv"
    p.write_text("a,b,label\n")
    with pytest.raises(EmptyDataError) as ei:
        load_data(p)
    assert "no data rows" in _one_line(ei.value)


def test_header_only_arff(tmp_path):
    p = tmp_path / "head.arff"
    p.write_text("@relation r\n@attribute a numeric\n@attribute y {p,q}\n@data\n% nothing\n")
    with pytest.raises(EmptyDataError, match="no data rows"):
        load_data(p)


def test_arff_without_data_section(tmp_path):
    p = tmp_path / "nodata.arff"
    p.write_text("@relation r\n@attribute a numeric\n@attribute y {p,q}\n")
    with pytest.raises(EmptyDataError, match="no @data"):
        load_data(p)


def test_empty_gz(tmp_path):
    p = tmp_path / "e.csv.gz"
    p.write_bytes(gzip.compress(b""))
    with pytest.raises(EmptyDataError):
        load_data(p)


def test_corrupt_gz(tmp_path):
    p = tmp_path / "bad.csv.gz"
    p.write_bytes(b"\x1f\x8b\x08\x00garbage-not-deflate")
    with pytest.raises(DataFileError, match="gzip"):
        load_data(p)


def test_binary_junk(tmp_path):
    p = tmp_path / "junk.csv"
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(NotTabularError) as ei:
        load_data(p)
    assert "binary" in _one_line(ei.value)


def test_png_image(tmp_path):
    p = tmp_path / "picture.csv"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(NotTabularError, match="PNG image"):
        load_data(p)


def test_xlsx(tmp_path):
    p = tmp_path / "book.xlsx"
    p.write_bytes(b"PK\x03\x04" + b"\x14\x00" * 40)
    with pytest.raises(NotTabularError, match="Excel"):
        load_data(p)


@pytest.mark.parametrize("fname", ["data.json", "data.csv"])
def test_json(tmp_path, fname):
    p = tmp_path / fname
    p.write_text(json.dumps([{"a": i, "y": i % 2} for i in range(20)]))
    with pytest.raises(NotTabularError) as ei:
        load_data(p)
    assert "JSON" in _one_line(ei.value)


def test_html(tmp_path):
    p = tmp_path / "page.csv"
    p.write_text("<html><body><table><tr><td>1</td></tr></table></body></html>\n")
    with pytest.raises(NotTabularError, match="HTML"):
        load_data(p)


def test_sniffing_fails_single_column(tmp_path):
    p = tmp_path / "prose.txt"
    p.write_text("This is just some prose\nwithout any delimiter at all\nor structure\n" * 5)
    with pytest.raises(NotTabularError) as ei:
        load_data(p)
    msg = _one_line(ei.value)
    assert "delimiter" in msg or "single column" in msg


def test_target_only_csv_says_no_feature_columns(tmp_path):
    """One column and nothing else is a table without features, not an undetected delimiter."""
    p = tmp_path / "target_only.csv"
    p.write_text("class\n" + "good\nbad\n" * 10)
    for target in ("class", None):
        with pytest.raises(NoFeaturesError) as ei:
            load_data(p, target=target)
        msg = _one_line(ei.value)
        assert "no feature columns" in msg and "'class'" in msg and "delimiter" not in msg


def test_none_as_data_is_named(tmp_path):
    for call in (lambda: load_data(None), lambda: load_data(None, target="y"), lambda: as_dataset(None, [1, 2]),
                 lambda: load_data((None, [1, 2]))):
        with pytest.raises(DataError) as ei:
            call()
        msg = _one_line(ei.value)
        assert "None" in msg and "no rows" not in msg


def test_all_infinite_target(tmp_path):
    with pytest.raises(TargetMissingError, match="infinite in all 20 rows"):
        as_dataset(_frame(), np.full(20, np.inf))
    with pytest.raises(TargetMissingError, match="missing or infinite in all 20 rows"):
        as_dataset(_frame(), np.r_[np.full(10, np.inf), np.full(10, np.nan)])


def test_ragged_csv(tmp_path):
    p = tmp_path / "ragged.csv"
    p.write_text("a,b,y\n1,2,3\n4,5,6\n" + "7,8,9,10,11\n" + "1,2,3\n" * 10)
    with pytest.raises(NotTabularError, match="well-formed"):
        load_data(p)


def test_malformed_arff_value(tmp_path):
    p = tmp_path / "bad.arff"
    p.write_text("@relation r\n@attribute a numeric\n@attribute y {p,q}\n@data\n"
                 + "1,p\n" * 6 + "oops,q\n" + "2,q\n" * 6)
    with pytest.raises(DataFileError) as ei:
        load_data(p)
    assert "oops" in _one_line(ei.value)


def test_undeclared_nominal_value(tmp_path):
    p = tmp_path / "bad.arff"
    p.write_text("@relation r\n@attribute a numeric\n@attribute y {p,q}\n@data\n"
                 + "1,p\n" * 6 + "2,z\n" + "2,q\n" * 6)
    with pytest.raises(DataFileError, match="not among its declared values"):
        load_data(p)


def test_unknown_target_suggests_close_names(fixtures):
    with pytest.raises(UnknownTargetError) as ei:
        load_data(fixtures / "loans.csv", "aproved")
    msg = _one_line(ei.value)
    assert "'approved'" in msg and "did you mean" in msg


def test_unknown_target_case_insensitive_hint():
    with pytest.raises(UnknownTargetError, match="did you mean 'label'"):
        as_dataset(_frame(), target="LABEL")


def test_unknown_target_lists_columns_when_nothing_close():
    with pytest.raises(UnknownTargetError) as ei:
        as_dataset(_frame(), target="zzzzzz")
    assert "the target must be one of its columns: 'a'" in _one_line(ei.value)


def test_target_position_out_of_range():
    with pytest.raises(UnknownTargetError, match="out of range"):
        as_dataset(_frame(), target=7)


def test_target_all_missing():
    f = _frame()
    f["label"] = np.nan
    with pytest.raises(TargetMissingError) as ei:
        as_dataset(f, target="label")
    assert "missing in all 20 rows" in _one_line(ei.value)


def test_single_class():
    f = _frame()
    f["label"] = "x"
    with pytest.raises(SingleClassError) as ei:
        as_dataset(f, target="label")
    assert "single value" in _one_line(ei.value)


def test_single_numeric_value_is_named_plainly():
    f = _frame()
    f["label"] = 3.0
    with pytest.raises(SingleClassError) as ei:
        as_dataset(f, target="label")
    assert "(3.0)" in _one_line(ei.value) and "np." not in _one_line(ei.value)


def test_single_class_after_dropping_missing():
    f = _frame()
    f.loc[f["label"] == "y", "label"] = None
    with pytest.raises(SingleClassError):
        as_dataset(f, target="label")


def test_constant_regression_target():
    with pytest.raises(SingleClassError):
        as_dataset(_frame().assign(t=3.0), target="t")


def test_too_few_rows():
    with pytest.raises(TooFewRowsError) as ei:
        as_dataset(_frame(n=6), target="label")
    msg = _one_line(ei.value)
    assert "only 6 row" in msg and "min_rows" in msg
    assert as_dataset(_frame(n=6), target="label", min_rows=4).n_rows == 6


def test_duplicate_columns_csv(tmp_path):
    p = tmp_path / "dup.csv"
    p.write_text("a,b,a,y\n" + "1,2,3,x\n" * 12)
    with pytest.raises(DuplicateColumnError) as ei:
        load_data(p)
    assert "'a'" in _one_line(ei.value)


def test_duplicate_columns_arff(tmp_path):
    p = tmp_path / "dup.arff"
    p.write_text("@relation r\n@attribute a numeric\n@attribute a numeric\n@attribute y {p,q}\n@data\n"
                 + "1,2,p\n" * 12)
    with pytest.raises(DuplicateColumnError):
        load_data(p)


def test_duplicate_columns_frame():
    f = pd.DataFrame(np.ones((12, 3)), columns=["a", "a", "y"])
    with pytest.raises(DuplicateColumnError):
        as_dataset(f, target="y")
    g = pd.DataFrame(np.ones((12, 2)), columns=[1, "1"])  # equal after str()
    with pytest.raises(DuplicateColumnError):
        as_dataset(g, y=np.arange(12) % 2)


def test_no_features_left():
    f = pd.DataFrame({"id": np.arange(30), "y": np.arange(30) % 2})
    with pytest.raises(NoFeaturesError) as ei:
        as_dataset(f, target="y")
    assert "drop_id_like=False" in _one_line(ei.value)
    assert as_dataset(f, target="y", drop_id_like=False).n_features == 1


def test_only_target_column(tmp_path):
    with pytest.raises(NoFeaturesError):
        as_dataset(pd.DataFrame({"y": [0, 1] * 10}), target="y")


def test_length_mismatch():
    with pytest.raises(DataError, match="20 rows but y has 19"):
        as_dataset(_frame().drop(columns="label"), np.arange(19) % 2)


def test_multi_output_y():
    with pytest.raises(TargetError, match="multi-output"):
        as_dataset(np.ones((20, 2)), np.ones((20, 3)))


def test_bad_kind():
    with pytest.raises(TargetError, match="unknown kind"):
        as_dataset(_frame(), target="label", kind="ranking")
    with pytest.raises(TargetError, match="kind='multiclass'"):
        as_dataset(_frame().assign(label=np.arange(20) % 3), target="label", kind="binary")
    with pytest.raises(TargetError, match="kind='binary'"):
        as_dataset(_frame(), target="label", kind="multiclass")
    with pytest.raises(TargetError, match="not numeric"):
        as_dataset(_frame(), target="label", kind="regression")


def test_frame_without_target():
    with pytest.raises(TargetError, match="no target given"):
        as_dataset(_frame())


def test_bad_openml_spec():
    with pytest.raises(DataError, match="openml:<data id>"):
        load_data("openml:credit")


def test_y_with_file(fixtures):
    with pytest.raises(TargetError, match="target="):
        load_data(fixtures / "loans.csv", y=np.zeros(13))
