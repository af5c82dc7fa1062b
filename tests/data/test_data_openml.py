"""``openml:<id>`` / ``openml-task:<id>`` from a cache directory in openml-python 0.15's
layout and OpenML's XML formats, fully offline."""

from __future__ import annotations

import shutil

import pytest

from data_openml_cache import build_openml_cache
from metaopt.data import content_hash, load_data, openml_cache_dir, set_openml_cache
from metaopt.data._openml import read_description, read_features, read_task
from metaopt.exceptions import DataError, OpenMLDataError


@pytest.fixture
def weather_cache(tmp_path, fixtures):
    root = tmp_path / "openml-cache"
    build_openml_cache(root, 990001, fixtures / "weather.arff", name="weather-mixed",
                       target="label value", ignore=("remark",), task_id=990101)
    return root


def test_openml_dataset_from_fixture_cache(weather_cache, fixtures):
    ds = load_data("openml:990001", openml_cache=weather_cache)
    assert ds.name == "weather-mixed" and ds.target == "label value" and ds.kind == "binary"
    assert ds.openml_data_id == 990001 and ds.openml_task_id is None
    assert ds.dropped == {"remark": "openml-ignore"} and "remark" not in ds.X.columns
    assert ds.source == "openml:990001" and ds.meta["format"] == "openml"
    assert "observed_days" in ds.X.columns  # date attribute expanded as for the file
    ref = load_data(fixtures / "weather.arff")
    assert ds.n_rows == ref.n_rows and ds.n_features == ref.n_features - 1


def test_openml_task_from_fixture_cache(weather_cache):
    ds = load_data("openml-task:990101", openml_cache=weather_cache)
    assert ds.openml_task_id == 990101 and ds.openml_data_id == 990001
    assert ds.target == "label value" and ds.kind == "binary"


def test_cache_from_environment_variable(weather_cache, monkeypatch):
    monkeypatch.setenv("METAOPT_OPENML_CACHE", str(weather_cache))
    assert load_data("openml:990001").name == "weather-mixed"
    assert openml_cache_dir() == weather_cache / "org" / "openml" / "www"


def test_cache_from_openml_config(weather_cache):
    import openml

    old = openml.config._root_cache_directory
    try:
        set_openml_cache(weather_cache)
        assert load_data("openml:990001").openml_data_id == 990001
    finally:
        openml.config.set_root_cache_directory(old)


def test_not_in_cache_offline(tmp_path):
    with pytest.raises(OpenMLDataError) as ei:
        load_data("openml:31", openml_cache=tmp_path)
    msg = str(ei.value)
    assert "not in the cache" in msg and "downloads are off" in msg and "\n" not in msg
    with pytest.raises(OpenMLDataError, match="task 7"):
        load_data("openml-task:7", openml_cache=tmp_path, download=False)


def test_damaged_description(weather_cache):
    d = openml_cache_dir(weather_cache) / "datasets" / "990001" / "description.xml"
    d.write_text("<oml:data_set_description xmlns:oml=")
    with pytest.raises(OpenMLDataError, match="damaged"):
        load_data("openml:990001", openml_cache=weather_cache)


def test_unsupported_task_type(tmp_path, fixtures):
    build_openml_cache(tmp_path, 990002, fixtures / "weather.arff", name="w", target="label value",
                       task_id=990102, task_type_id=5)
    with pytest.raises(OpenMLDataError, match="only supervised"):
        load_data("openml-task:990102", openml_cache=tmp_path)


def test_bad_spec():
    with pytest.raises(DataError):
        load_data("openml:")


def test_xml_parsers(weather_cache):
    base = openml_cache_dir(weather_cache)
    desc = read_description(base / "datasets" / "990001" / "description.xml")
    assert desc["default_target"] == ["label value"] and desc["ignore"] == ["remark"]
    feats = read_features(base / "datasets" / "990001" / "features.xml")
    assert [f["data_type"] for f in feats][:2] == ["nominal", "numeric"]
    assert feats[0]["nominal_values"] == ["sunny", "overcast", "rainy"]
    assert feats[-1]["is_target"] and feats[5]["is_ignore"]
    task = read_task(base / "tasks" / "990101" / "task.xml")
    assert task == {"id": 990101, "type_id": 1, "type": "Supervised Classification",
                    "data_id": 990001, "target": "label value"}


# --------------------------------------------------------------------------- real corpus ARFF


@pytest.fixture
def credit_cache(tmp_path, corpus):
    root = tmp_path / "cache"
    build_openml_cache(root, 31, corpus / "credit-g.arff", name="credit-g", target="class", task_id=31)
    build_openml_cache(root, 1031, corpus / "credit-g.arff", name="credit-g-pq", target="class",
                       parquet=True)
    build_openml_cache(root, 2031, corpus / "credit-g.arff", name="credit-g-rowid", target="class",
                       row_id="duration", ignore=("foreign_worker", "own_telephone"))
    return root


def test_openml_credit_g_matches_file(credit_cache, corpus):
    ref = load_data(corpus / "credit-g.arff", "class")
    for spec in ("openml:31", "openml-task:31", "openml:1031"):
        ds = load_data(spec, openml_cache=credit_cache)
        assert ds.kind == "binary" and ds.n_rows == 1000 and ds.n_features == 20
        assert content_hash(ds) == content_hash(ref), spec
        assert ds.X["checking_status"].cat.categories.tolist() == \
            ref.X["checking_status"].cat.categories.tolist()


def test_openml_row_id_and_ignore(credit_cache):
    ds = load_data("openml:2031", openml_cache=credit_cache)
    assert ds.dropped == {"duration": "openml-row-id", "foreign_worker": "openml-ignore",
                          "own_telephone": "openml-ignore"}
    assert ds.n_features == 17


def test_openml_target_override(credit_cache):
    ds = load_data("openml:31", "age", openml_cache=credit_cache)
    assert ds.target == "age" and ds.kind == "regression"


def test_openml_python_reads_the_same_cache_offline(credit_cache):
    """The fixture cache is faithful: openml-python itself loads it without the network."""
    import openml

    old = openml.config._root_cache_directory
    try:
        openml.config.set_root_cache_directory(credit_cache)
        for did in (31, 1031):
            dataset = openml.datasets.get_dataset(did, download_data=True, download_qualities=True,
                                                  download_features_meta_data=True)
            X, y, categorical, names = dataset.get_data(target=dataset.default_target_attribute)
            assert X.shape == (1000, 20) and set(y.unique()) == {"good", "bad"}
            assert dataset.qualities["NumberOfInstances"] == 1000
        task = openml.tasks.get_task(31, download_data=False)
        assert task.target_name == "class" and task.dataset_id == 31
    finally:
        openml.config.set_root_cache_directory(old)


def test_metaopt_does_not_write_to_the_cache(credit_cache):
    before = sorted(p.relative_to(credit_cache) for p in credit_cache.rglob("*"))
    load_data("openml:31", openml_cache=credit_cache)
    load_data("openml-task:31", openml_cache=credit_cache)
    assert sorted(p.relative_to(credit_cache) for p in credit_cache.rglob("*")) == before


def test_old_style_parquet_name(tmp_path, corpus):
    build_openml_cache(tmp_path, 1031, corpus / "credit-g.arff", name="c", target="class", parquet=True)
    d = openml_cache_dir(tmp_path) / "datasets" / "1031"
    shutil.move(d / "dataset_1031.pq", d / "dataset.pq")
    assert load_data("openml:1031", openml_cache=tmp_path).n_rows == 1000


# --------------------------------------------------------------------------- download branch
# (openml-python's download functions are replaced: tests never touch the network)


def test_download_failure_is_wrapped(tmp_path, monkeypatch):
    import openml

    def offline(*args, **kwargs):
        raise ConnectionError("Failed to resolve 'api.openml.org'")

    monkeypatch.setattr(openml.datasets, "get_dataset", offline)
    with pytest.raises(OpenMLDataError) as ei:
        load_data("openml:61", openml_cache=tmp_path, download=True)
    msg = str(ei.value)
    assert "could not be downloaded" in msg and "ConnectionError" in msg and "\n" not in msg


def test_download_fills_cache_then_loads(tmp_path, fixtures, monkeypatch):
    import openml

    calls = []

    def fake_get_dataset(did, **kwargs):
        calls.append((did, kwargs, openml.config._root_cache_directory))
        build_openml_cache(openml.config._root_cache_directory, did, fixtures / "weather.arff",
                           name="downloaded", target="label value")

    old_root = openml.config._root_cache_directory
    monkeypatch.setattr(openml.datasets, "get_dataset", fake_get_dataset)
    monkeypatch.delenv("METAOPT_OPENML_OFFLINE")  # downloads allowed by default
    ds = load_data("openml:990005", openml_cache=tmp_path)
    assert ds.name == "downloaded" and ds.n_rows == 14
    assert calls and calls[0][0] == 990005 and calls[0][1]["download_data"] is True
    assert calls[0][2] == tmp_path                      # downloaded into the requested cache
    assert openml.config._root_cache_directory == old_root  # openml's setting restored
    load_data("openml:990005", openml_cache=tmp_path)
    assert len(calls) == 1                              # second time from the cache
