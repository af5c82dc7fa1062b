"""Writes OpenML datasets/tasks into a directory laid out like openml-python 0.15's cache.

``build_openml_cache`` uses OpenML's own XML formats (``description.xml``,
``features.xml``, ``qualities.xml``, ``task.xml``; shapes as in openml-python's
``tests/files/org/openml/test``). Imported by the data tests (module name kept
unique so it cannot clash with other test folders' helpers).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd


def _feature_xml(frame: pd.DataFrame, target: str, row_id: str | None, ignore: list[str]) -> str:
    parts = ['<oml:data_features xmlns:oml="http://openml.org/openml">']
    for i, col in enumerate(frame.columns):
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            dtype = "nominal"
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            dtype = "date"
        elif pd.api.types.is_numeric_dtype(s.dtype):
            dtype = "numeric"
        else:
            dtype = "string"
        parts.append("  <oml:feature>")
        parts.append(f"    <oml:index>{i}</oml:index>")
        parts.append(f"    <oml:name>{escape(col)}</oml:name>")
        parts.append(f"    <oml:data_type>{dtype}</oml:data_type>")
        if dtype == "nominal":
            for v in s.cat.categories:
                parts.append(f"    <oml:nominal_value>{escape(str(v))}</oml:nominal_value>")
        parts.append(f"    <oml:is_target>{'true' if col == target else 'false'}</oml:is_target>")
        parts.append(f"    <oml:is_ignore>{'true' if col in ignore else 'false'}</oml:is_ignore>")
        parts.append(f"    <oml:is_row_identifier>{'true' if col == row_id else 'false'}</oml:is_row_identifier>")
        parts.append(f"    <oml:number_of_missing_values>{int(s.isna().sum())}</oml:number_of_missing_values>")
        parts.append("  </oml:feature>")
    parts.append("</oml:data_features>")
    return "\n".join(parts) + "\n"


def build_openml_cache(root: Path, did: int, source: Path, *, name: str, target: str,
                       row_id: str | None = None, ignore: tuple[str, ...] = (),
                       task_id: int | None = None, task_type_id: int = 1,
                       parquet: bool = False, server_dir: tuple[str, ...] = ("org", "openml", "www"),
                       ) -> Path:
    """Write OpenML dataset ``did`` (from the ARFF ``source``) into cache ``root``; return its dir."""
    from metaopt.data import read_frame

    base = root.joinpath(*server_dir)
    ddir = base / "datasets" / str(did)
    ddir.mkdir(parents=True, exist_ok=True)
    frame = read_frame(source)
    if parquet:
        frame.to_parquet(ddir / f"dataset_{did}.pq", index=False)
        data_bytes = (ddir / f"dataset_{did}.pq").read_bytes()
    else:
        shutil.copyfile(source, ddir / "dataset.arff")
        data_bytes = (ddir / "dataset.arff").read_bytes()
    md5 = hashlib.md5(data_bytes).hexdigest()
    desc = [
        '<oml:data_set_description xmlns:oml="http://openml.org/openml">',
        f"  <oml:id>{did}</oml:id>",
        f"  <oml:name>{escape(name)}</oml:name>",
        "  <oml:version>1</oml:version>",
        f"  <oml:description>Test copy of {escape(source.name)}</oml:description>",
        "  <oml:format>ARFF</oml:format>",
        "  <oml:upload_date>2014-04-06T23:21:47</oml:upload_date>",
        "  <oml:licence>Public</oml:licence>",
        f"  <oml:url>https://api.openml.org/data/v1/download/{did}/{escape(name)}.arff</oml:url>",
    ]
    if parquet:  # real descriptions carry it; openml-python then uses dataset_<id>.pq
        desc.append(f"  <oml:parquet_url>https://data.openml.org/datasets/0000/{did:04d}/dataset_{did}.pq"
                    f"</oml:parquet_url>")
    desc += [
        f"  <oml:file_id>{did}</oml:file_id>",
        f"  <oml:default_target_attribute>{escape(target)}</oml:default_target_attribute>",
    ]
    if row_id:
        desc.append(f"  <oml:row_id_attribute>{escape(row_id)}</oml:row_id_attribute>")
    for ig in ignore:
        desc.append(f"  <oml:ignore_attribute>{escape(ig)}</oml:ignore_attribute>")
    desc += [
        "  <oml:version_label>1</oml:version_label>",
        "  <oml:tag>test</oml:tag>",
        "  <oml:visibility>public</oml:visibility>",
        "  <oml:status>active</oml:status>",
        f"  <oml:md5_checksum>{md5}</oml:md5_checksum>",
        "</oml:data_set_description>",
    ]
    (ddir / "description.xml").write_text("\n".join(desc) + "\n", encoding="utf8")
    (ddir / "features.xml").write_text(_feature_xml(frame, target, row_id, list(ignore)), encoding="utf8")
    n_nominal = sum(isinstance(frame[c].dtype, pd.CategoricalDtype) for c in frame.columns)
    qual = {"NumberOfInstances": frame.shape[0], "NumberOfFeatures": frame.shape[1],
            "NumberOfSymbolicFeatures": n_nominal,
            "NumberOfMissingValues": int(frame.isna().sum().sum())}
    qxml = ['<oml:data_qualities xmlns:oml="http://openml.org/openml">']
    for k, v in qual.items():
        qxml.append(f"  <oml:quality>\n    <oml:name>{k}</oml:name>\n    <oml:value>{float(v)}</oml:value>\n  </oml:quality>")
    qxml.append("</oml:data_qualities>")
    (ddir / "qualities.xml").write_text("\n".join(qxml) + "\n", encoding="utf8")
    if task_id is not None:
        tdir = base / "tasks" / str(task_id)
        tdir.mkdir(parents=True, exist_ok=True)
        ttype = {1: "Supervised Classification", 2: "Supervised Regression"}.get(task_type_id, "Clustering")
        measure = "predictive_accuracy" if task_type_id == 1 else "mean_absolute_error"
        (tdir / "task.xml").write_text(f"""<oml:task xmlns:oml="http://openml.org/openml">
  <oml:task_id>{task_id}</oml:task_id>
  <oml:task_name>Task {task_id}: {escape(name)} ({ttype})</oml:task_name>
  <oml:task_type_id>{task_type_id}</oml:task_type_id>
  <oml:task_type>{ttype}</oml:task_type>
  <oml:input name="source_data">
    <oml:data_set>
      <oml:data_set_id>{did}</oml:data_set_id>
      <oml:target_feature>{escape(target)}</oml:target_feature>
    </oml:data_set>
  </oml:input>
  <oml:input name="estimation_procedure">
    <oml:estimation_procedure>
      <oml:id>1</oml:id>
      <oml:type>crossvalidation</oml:type>
      <oml:data_splits_url>https://api.openml.org/api_splits/get/{task_id}/Task_{task_id}_splits.arff</oml:data_splits_url>
      <oml:parameter name="number_repeats">1</oml:parameter>
      <oml:parameter name="number_folds">10</oml:parameter>
      <oml:parameter name="percentage"></oml:parameter>
      <oml:parameter name="stratified_sampling">true</oml:parameter>
    </oml:estimation_procedure>
  </oml:input>
  <oml:input name="cost_matrix">
    <oml:cost_matrix></oml:cost_matrix>
  </oml:input>
  <oml:input name="evaluation_measures">
    <oml:evaluation_measures>
      <oml:evaluation_measure>{measure}</oml:evaluation_measure>
    </oml:evaluation_measures>
  </oml:input>
  <oml:output name="predictions">
    <oml:predictions>
      <oml:format>ARFF</oml:format>
      <oml:feature name="repeat" type="integer"/>
      <oml:feature name="fold" type="integer"/>
      <oml:feature name="row_id" type="integer"/>
      <oml:feature name="prediction" type="string"/>
    </oml:predictions>
  </oml:output>
  <oml:tag>test</oml:tag>
</oml:task>
""", encoding="utf8")
    return ddir
