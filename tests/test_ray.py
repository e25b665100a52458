"""The same recipe runs on Ray Data and gives the same bytes as the local executor."""

from __future__ import annotations

import pytest
from conftest import write_jsonl
from test_run import tree_bytes

from instructkit import Pipeline

pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'instructkit[ray]')")


@pytest.mark.slow
def test_ray_executor_matches_local(tmp_path, quickstart_records):
    path = write_jsonl(tmp_path / "in.jsonl", quickstart_records[:600] + quickstart_records[:100])
    raw = {"input": {"path": str(path)}, "steps": [{"clean": {}}, {"exact_dedup": {}}],
           "executor": {"batch_size": 150}}
    local = Pipeline.from_recipe(raw).run(output=tmp_path / "local", workers=1)
    raw["executor"]["type"] = "ray"
    on_ray = Pipeline.from_recipe(raw).run(output=tmp_path / "ray", workers=2)
    assert on_ray.stats["recipe"]["executor"]["type"] == "ray"
    assert on_ray.stats["totals"] == local.stats["totals"]
    assert tree_bytes(tmp_path / "ray", "data", "rejected") == tree_bytes(tmp_path / "local", "data", "rejected")


@pytest.mark.slow
def test_ray_reads_parquet_parts_as_local(tmp_path, quickstart_records):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = quickstart_records[:600] + quickstart_records[:100]
    pq.write_table(pa.table({"id": pa.array([r["id"] for r in rows]), "text": [r["text"] for r in rows],
                             "n": pa.array(range(len(rows)), pa.int32())}), tmp_path / "in.parquet",
                   row_group_size=128)
    raw = {"input": {"path": str(tmp_path / "in.parquet")}, "steps": [{"clean": {}}, {"exact_dedup": {}}],
           "executor": {"batch_size": 150}}
    local = Pipeline.from_recipe(raw).run(output=tmp_path / "local", workers=1)
    raw["executor"]["type"] = "ray"
    on_ray = Pipeline.from_recipe(raw).run(output=tmp_path / "ray", workers=2)
    assert on_ray.stats["totals"] == local.stats["totals"] and local.stats["totals"]["records_rejected"] >= 100
    assert tree_bytes(tmp_path / "ray", "data", "rejected") == tree_bytes(tmp_path / "local", "data", "rejected")
