"""File formats: CSV/TSV (delimiters, encodings, compression), ARFF (all attribute types,
fast path vs liac-arff), Parquet, and read_frame."""

from __future__ import annotations

import bz2
import gzip
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metaopt.data import load_data, read_frame
from metaopt.data._arff import java_date_format, read_arff_text
from metaopt.data._readers import read_table


def _gz(src: Path, dst: Path) -> Path:
    dst.write_bytes(gzip.compress(src.read_bytes()))
    return dst


# --------------------------------------------------------------------------- CSV family


def test_csv_mixed_types(fixtures):
    frame = read_frame(fixtures / "loans.csv")
    assert frame.shape == (13, 10)
    assert frame.attrs["default_target"] == "approved"
    assert frame.attrs["format"] == "csv"
    assert frame["amount"].dtype == "float64"
    assert frame["empty"].isna().all()
    assert frame.loc[11, "purpose"] == "house, small"  # quoted comma


def test_semicolon_latin1_decimal_comma(fixtures):
    table = read_table(fixtures / "semicolon_latin1.csv")
    frame = table.frame
    assert list(frame.columns) == ["code", "value", "size", "group"]
    assert frame.loc[0, "code"] == "café"
    assert frame["value"].dtype == "float64" and frame.loc[0, "value"] == 1.5
    assert any("latin-1" in n for n in table.notes)
    assert any("decimal commas" in n for n in table.notes)


def test_tsv_with_bom(fixtures):
    frame = read_frame(fixtures / "bom_tabs.tsv")
    assert list(frame.columns) == ["x1", "x2", "label"]  # BOM stripped from the first name
    ds = load_data(fixtures / "bom_tabs.tsv")
    assert ds.kind == "binary" and ds.n_rows == 12


def test_tab_separated_with_csv_suffix(tmp_path, fixtures):
    p = tmp_path / "tabs.csv"
    shutil.copyfile(fixtures / "bom_tabs.tsv", p)
    assert list(read_frame(p).columns) == ["x1", "x2", "label"]


def test_pipe_and_whitespace_delimited(tmp_path):
    rows = [(i, i * 0.5, "a" if i % 2 else "b") for i in range(12)]
    p = tmp_path / "pipe.txt"
    p.write_text("n|v|c\n" + "".join(f"{a}|{b}|{c}\n" for a, b, c in rows))
    assert read_frame(p).shape == (12, 3)
    p2 = tmp_path / "space.data"
    p2.write_text("n v c\n" + "".join(f"{a}   {b} {c}\n" for a, b, c in rows))
    f2 = read_frame(p2)
    assert list(f2.columns) == ["n", "v", "c"] and f2.shape == (12, 3)


def test_headerless_numeric_csv_gets_v_names(tmp_path):
    p = tmp_path / "nohead.csv"
    p.write_text("".join(f"{i},{i * 2.5},{i % 2}\n" for i in range(15)))
    table = read_table(p)
    assert list(table.frame.columns) == ["V1", "V2", "V3"]
    assert table.frame.shape == (15, 3)
    assert any("V1..V3" in n for n in table.notes)


def test_single_column_file_is_read(tmp_path):
    """A one-column file is a table (e.g. the features of a one-feature model at prediction time)."""
    p = tmp_path / "one.csv"
    p.write_text("x\n1.5\n2\n\n3\n")
    frame = read_frame(p)
    assert list(frame.columns) == ["x"] and frame["x"].tolist() == [1.5, 2.0, 3.0]


def test_text_columns_keep_identifiers_verbatim(tmp_path):
    p = tmp_path / "ids.csv"
    p.write_text("id,x,y\n007,1,a\n010,2,b\n")
    assert read_frame(p)["id"].tolist() == [7, 10]
    frame = read_frame(p, text_columns=["id", "absent"])
    assert frame["id"].tolist() == ["007", "010"] and frame["x"].tolist() == [1, 2]


def test_utf8_and_crlf(tmp_path):
    p = tmp_path / "u.csv"
    p.write_bytes("name,val,y\r\n".encode() + "".join(f"Zoë{i},{i},{i % 3}\r\n" for i in range(12)).encode())
    frame = read_frame(p)
    assert frame.loc[0, "name"] == "Zoë0" and frame.shape == (12, 3)


def test_question_mark_is_missing_in_csv(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text("a,b,y\n" + "".join(f"{'?' if i == 3 else i},{i},{i % 2}\n" for i in range(12)))
    frame = read_frame(p)
    assert frame["a"].dtype == "float64" and frame["a"].isna().sum() == 1


def test_csv_gz_and_bz2(tmp_path, fixtures):
    gz = _gz(fixtures / "loans.csv", tmp_path / "loans.csv.gz")
    bz = tmp_path / "loans.csv.bz2"
    bz.write_bytes(bz2.compress((fixtures / "loans.csv").read_bytes()))
    plain = read_frame(fixtures / "loans.csv")
    pd.testing.assert_frame_equal(read_frame(gz), plain, check_like=False)
    pd.testing.assert_frame_equal(read_frame(bz), plain)
    ds = load_data(gz)
    assert ds.name == "loans" and ds.target == "approved"


def test_gzip_detected_by_magic_bytes(tmp_path, fixtures):
    p = _gz(fixtures / "loans.csv", tmp_path / "loans.dat")
    assert read_frame(p).shape == (13, 10)


# --------------------------------------------------------------------------- Parquet


def test_parquet_roundtrip(tmp_path, fixtures):
    src = load_data(fixtures / "weather.arff")
    frame = pd.concat([src.X, src.y], axis=1)
    p = tmp_path / "weather.parquet"
    frame.to_parquet(p, index=False)
    ds = load_data(p, "label value")
    assert ds.kind == "binary" and ds.n_rows == 14
    assert ds.X["outlook"].cat.categories.tolist() == ["sunny", "overcast", "rainy"]
    assert ds.meta["format"] == "parquet"
    # parquet recognised by content even without the suffix
    q = tmp_path / "weather.bin"
    shutil.copyfile(p, q)
    assert read_table(q).format == "parquet"


# --------------------------------------------------------------------------- ARFF


def test_arff_all_attribute_types(fixtures):
    table = read_table(fixtures / "weather.arff")
    f = table.frame
    assert table.format == "arff" and table.default_target == "label value"
    assert f["outlook"].cat.categories.tolist() == ["sunny", "overcast", "rainy"]  # declared order
    assert f["windy"].cat.categories.tolist() == ["TRUE", "FALSE"]
    assert f["temperature (C)"].dtype == "float64"
    assert f["humidity"].isna().sum() == 1
    assert pd.api.types.is_datetime64_any_dtype(f["observed"])
    assert f.loc[0, "observed"] == pd.Timestamp("2024-01-01 09:30")
    assert f["observed"].isna().sum() == 1
    assert f.loc[5, "remark"] == "cool, windy"
    assert pd.isna(f.loc[3, "remark"])
    assert f.shape == (14, 7)  # the comment line inside @data is skipped


def test_arff_fast_path_matches_liac(fixtures):
    text = (fixtures / "weather.arff").read_text()
    fast = read_arff_text(text, fixtures / "weather.arff", fast=True).frame
    slow = read_arff_text(text, fixtures / "weather.arff", fast=False).frame
    pd.testing.assert_frame_equal(fast, slow)


def test_arff_sparse(fixtures):
    f = read_frame(fixtures / "sparse.arff")
    assert f.shape == (12, 4)
    assert f.loc[0].tolist()[:3] == [1.0, 0.0, 0.0]
    assert f.loc[4, "a"] == 0.0 and f.loc[4, "cls"] == "x"


def test_arff_quoted_question_mark_is_a_level(tmp_path):
    p = tmp_path / "q.arff"
    vals = ["?", "'?'", "a"]
    p.write_text("@relation q\n@attribute f {'?',a,b}\n@attribute x numeric\n@attribute y {p,n}\n@data\n"
                 + "".join(f"{vals[i % 3]},{i},{'p' if i % 2 else 'n'}\n" for i in range(12)))
    f = read_frame(p)
    # unquoted ? = missing, quoted '?' = the declared level (liac-arff semantics)
    assert f["f"].isna().sum() == 4
    assert (f["f"] == "?").sum() == 4


def test_arff_gz(tmp_path, fixtures):
    gz = _gz(fixtures / "weather.arff", tmp_path / "weather.arff.gz")
    pd.testing.assert_frame_equal(read_frame(gz), read_frame(fixtures / "weather.arff"))
    assert load_data(gz).name == "weather"


def test_arff_double_quotes_and_escapes(tmp_path):
    p = tmp_path / "dq.arff"
    lines = [f'"it\'s {i}",{i},{"yes" if i % 2 else "no"}' for i in range(12)]
    p.write_text("@RELATION dq\n@ATTRIBUTE txt STRING\n@ATTRIBUTE n INTEGER\n@ATTRIBUTE c {yes,no}\n@DATA\n"
                 + "\n".join(lines) + "\n")
    f = read_frame(p)
    assert f.loc[3, "txt"] == "it's 3" and f["n"].dtype == "float64"


def test_java_date_formats():
    assert java_date_format("yyyy-MM-dd'T'HH:mm:ss") == "%Y-%m-%dT%H:%M:%S"
    assert java_date_format("dd/MM/yy") == "%d/%m/%y"
    assert java_date_format("yyyy-MM-dd HH:mm") == "%Y-%m-%d %H:%M"


def test_arff_default_iso_date(tmp_path):
    p = tmp_path / "d.arff"
    p.write_text("@relation d\n@attribute t date\n@attribute x numeric\n@attribute y {a,b}\n@data\n"
                 + "".join(f"'2023-02-{i + 1:02d}T10:00:00',{i},{'a' if i % 2 else 'b'}\n" for i in range(12)))
    f = read_frame(p)
    assert f.loc[0, "t"] == pd.Timestamp("2023-02-01 10:00:00")


def test_arff_short_row_falls_back_and_errors(tmp_path):
    p = tmp_path / "short.arff"
    p.write_text("@relation s\n@attribute x numeric\n@attribute y {a,b}\n@data\n1,a\n2\n3,b\n")
    from metaopt.exceptions import DataFileError

    with pytest.raises(DataFileError):
        read_frame(p)


# --------------------------------------------------------------------------- real corpus files


@pytest.mark.parametrize("fname", ["credit-g.arff", "anneal.arff", "shuttle.csv", "soybean.arff",
                                   "Ozone.csv", "dna.csv"])
def test_corpus_files_read(corpus, fname):
    table = read_table(corpus / fname)
    cat = pd.read_csv(corpus / "catalog.csv").set_index("file")
    assert table.frame.shape[0] == cat.loc[fname, "n_rows"]
    assert table.frame.shape[1] == cat.loc[fname, "n_features"] + 1


@pytest.mark.parametrize("fname", ["2dplanes.arff", "mv.arff", "csb_ch19e.arff", "anneal.arff",
                                   "credit-g.arff", "splice.arff", "pol.arff"])
def test_corpus_arff_fast_path_equals_liac(corpus, fname):
    path = corpus / fname
    text = path.read_text(encoding="utf-8")
    fast = read_arff_text(text, path, fast=True).frame
    slow = read_arff_text(text, path, fast=False).frame
    pd.testing.assert_frame_equal(fast, slow)


def test_corpus_large_files_load_fast(corpus):
    """58k-row CSV and 40-50k-row ARFF files: well under a second each (best of 3)."""
    for fname, target in [("shuttle.csv", "Class"), ("csb_ch19e.arff", "Freq"), ("mv.arff", "y")]:
        best = np.inf
        for _ in range(3):
            t0 = time.perf_counter()
            ds = load_data(corpus / fname, target)
            best = min(best, time.perf_counter() - t0)
        assert ds.n_rows > 40_000
        assert best < 1.5, f"{fname} took {best:.2f} s"


def test_unnamed_index_column_from_pandas(tmp_path):
    f = pd.DataFrame({"a": np.arange(20) % 3 * 1.5, "y": np.arange(20) % 2})
    p = tmp_path / "with_index.csv"
    f.to_csv(p)  # writes an unnamed index column
    assert read_frame(p).columns[0] == "Unnamed: 0"
    ds = load_data(p)
    assert ds.dropped == {"Unnamed: 0": "id-like"} and list(ds.X.columns) == ["a"]
