"""`csqa spark load`: the same contract, quarantine and upsert rule as `csqa load`, on Spark (docs/SCALE.md).

Parity: the raw tables and the quarantine the Spark engine writes to the lake equal the ones `csqa load`
writes to DuckDB, row for row, on the sample data and on a generated set with faults. One SparkSession
(local[2]) serves the module. Skipped only where pyspark or Java is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from csqa.pipeline.ingest.contract import MODELS
from csqa.pipeline.ingest.load import load
from csqa.pipeline.spark import missing
from csqa.pipeline.synth.generate import generate
from tests.conftest import SAMPLE

needs_spark = pytest.mark.skipif(missing() is not None, reason=f"Spark cannot run here: {missing()}")

Q_COLS = "source_file, entity, row_number, column_name, check_name, failing_value, raw_row"


@pytest.fixture(scope="module")
def spark():
    from csqa.pipeline.spark.engine import session

    s = session("local[2]", app="csqa-tests")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def faulty_set(tmp_path_factory) -> Path:
    """Like `csqa generate --dirty-rate 0.1`, messages included (small: the test runs in CI)."""
    out = tmp_path_factory.mktemp("faulty")
    generate(out, n=600, days=10, seed=11, dirty_rate=0.1)
    return out


def _lake_con(lake: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    for entity in MODELS:
        p = lake / "raw" / entity
        if p.is_dir():
            con.execute(f"create view {entity} as select * exclude (created_day) from "
                        f"read_parquet('{p}/**/*.parquet', hive_partitioning = true)")
    con.execute(f"create view quarantine as select * from read_parquet('{lake}/quarantine/**/*.parquet', "
                "hive_partitioning = true)")
    return con


def _rows(con, sql: str) -> list[tuple]:
    return sorted(con.execute(sql).fetchall(), key=repr)


def _assert_parity(db: Path, lake: Path) -> dict:
    wh = duckdb.connect(str(db), read_only=True)
    lk = _lake_con(lake)
    counts = {}
    try:
        for entity in MODELS:
            cols = [r[0] for r in wh.execute(
                "select column_name from duckdb_columns() where schema_name = 'raw' and table_name = ? "
                "and column_name <> '_batch_id' order by column_index", [entity]).fetchall()]
            sel = ", ".join(cols)
            expected = _rows(wh, f"select {sel} from raw.{entity}")
            got = _rows(lk, f"select {sel} from {entity}")
            assert len(got) == len(expected), entity
            assert got == expected, entity
            counts[entity] = len(got)
        expected = _rows(wh, f"select {Q_COLS} from audit.quarantine")
        got = _rows(lk, f"select {Q_COLS} from quarantine")
        assert got == expected
        counts["quarantine"] = len(got)
    finally:
        wh.close()
        lk.close()
    return counts


@needs_spark
def test_sample_data_parity(spark, tmp_path, config):
    from csqa.pipeline.spark.engine import load as spark_load

    db, lake = tmp_path / "wh.duckdb", tmp_path / "lake"
    duck = load([SAMPLE], db, config)
    sp = spark_load([SAMPLE], lake, config, spark=spark)
    counts = _assert_parity(db, lake)
    assert counts["interactions"] > 8000 and counts["messages"] > 0 and counts["quarantine"] > 0
    summary = {k: v for k, v in sp.as_dict().items() if k.startswith(("rows_", "files_"))}
    assert summary == {k: v for k, v in duck.as_dict().items() if k.startswith(("rows_", "files_"))}
    assert summary["rows_duplicate"] > 0  # the dirty export resends older versions: the upsert chose


@needs_spark
def test_faulty_set_parity_and_idempotent_reload(spark, tmp_path, config, faulty_set):
    from csqa.pipeline.spark.engine import load as spark_load

    db, lake = tmp_path / "wh.duckdb", tmp_path / "lake"
    load([faulty_set], db, config)
    first = spark_load([faulty_set], lake, config, spark=spark)
    counts = _assert_parity(db, lake)
    checks = {r[0] for r in _lake_con(lake).execute("select distinct check_name from quarantine").fetchall()}
    assert {"not_nullable", "parse_timestamp_iso8601"} <= checks and len(checks) >= 5
    assert counts["quarantine"] > 0 and first.as_dict()["rows_quarantined"] > 0

    again = spark_load([faulty_set], lake, config, spark=spark)  # same files: skipped, lake unchanged
    assert again.count("skipped") == len(first.files) and again.batch_id is None
    assert _assert_parity(db, lake) == counts

    forced = spark_load([faulty_set], lake, config, spark=spark, force=True)  # --force: equal versions replace
    duck = load([faulty_set], db, config, force=True)
    assert _assert_parity(db, lake) == {**counts, "quarantine": 2 * counts["quarantine"]}  # a batch's own quarantine
    assert forced.as_dict()["rows_loaded"] == duck.as_dict()["rows_loaded"] > 0

@needs_spark
def test_lake_layout_is_partitioned_by_day_with_microsecond_timestamps(spark, tmp_path, config, faulty_set):
    import pyarrow.parquet as pq

    from csqa.pipeline.spark.engine import load as spark_load

    lake = tmp_path / "lake"
    spark_load([faulty_set / "interactions.csv"], lake, config, spark=spark)
    days = sorted(p.name for p in (lake / "raw" / "interactions").iterdir() if p.is_dir())
    assert len(days) >= 10 and all(d.startswith("created_day=20") for d in days)
    part = next((lake / "raw" / "interactions" / days[0]).glob("*.parquet"))
    ts = pq.read_schema(part).field("created_at").type
    assert str(ts) in ("timestamp[us, tz=UTC]", "timestamp[us]") and ts.unit == "us"
    con = _lake_con(lake)
    wrong = con.execute("select count(*) from read_parquet(?, hive_partitioning = true) "
                        "where created_day <> cast(created_at as date)",
                        [str(lake / "raw" / "interactions" / "**" / "*.parquet")]).fetchall()[0][0]
    assert wrong == 0
    assert (lake / "audit" / "load_batches" / "batch-000001.parquet").is_file()


@needs_spark
def test_cli_without_java_exits_2_with_a_clear_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(Path(sys.executable).parent)  # the venv's csqa, no java
    r = subprocess.run([sys.executable, "-m", "csqa.pipeline.cli", "spark", "load", str(SAMPLE), "--lake",
                        str(tmp_path / "lake")], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2
    assert "Java was not found" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "lake").exists()


@needs_spark
def test_cross_file_checks_match_duckdb(spark, tmp_path, config):
    """A message id reused under another interaction and a survey sent before its interaction was created:
    quarantined by both engines with the same rows, columns, checks and failing values (raw_row is each
    engine's JSON of the staged row, so it is not compared here)."""
    from csqa.pipeline.spark.engine import load as spark_load
    from tests.conftest import INTERACTION_HEADER, interaction_row, write

    src = tmp_path / "in"
    write(src / "a_interactions.csv", "\n".join([INTERACTION_HEADER, interaction_row("I1"),
                                                  interaction_row("I2", created="2026-11-03T09:00:00Z",
                                                                  first="2026-11-03T09:01:00Z",
                                                                  resolved="2026-11-03T09:05:00Z")]) + "\n")
    write(src / "b_messages.csv", "message_id,interaction_id,sender_role,sent_at,is_public,text\n"
          "M1,I1,customer,2026-11-02T09:00:00Z,true,hi\nM2,I2,customer,2026-11-03T09:00:00Z,true,hello\n"
          "M1,I2,agent,2026-11-03T09:01:00Z,true,reused id\n")
    write(src / "c_csat_surveys.csv", "survey_id,interaction_id,sent_at,responded_at,score,comment\n"
          "S1,I1,2026-11-02T10:00:00Z,2026-11-02T11:00:00Z,5,good\nS2,I2,2026-11-01T10:00:00Z,,,\n")
    db, lake = tmp_path / "wh.duckdb", tmp_path / "lake"
    duck = load([src], db, config)
    sp = spark_load([src], lake, config, spark=spark)
    cols = "source_file, entity, row_number, column_name, check_name, failing_value"
    expected = sorted(duckdb.connect(str(db), read_only=True).execute(f"select {cols} from audit.quarantine")
                      .fetchall())
    got = sorted(_lake_con(lake).execute(f"select {cols} from quarantine").fetchall())
    assert {r[4] for r in got} == {"message_key_conflict", "survey_not_before_creation"}
    assert got == expected
    keep = ("rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate")
    assert {k: sp.as_dict()[k] for k in keep} == {k: duck.as_dict()[k] for k in keep}
    lk = _lake_con(lake)
    assert sorted(lk.execute("select message_id, interaction_id from messages").fetchall()) == [
        ("M1", "I1"), ("M2", "I2")]
    assert lk.execute("select survey_id from csat_surveys").fetchall() == [("S1",)]


def test_only_the_spark_package_imports_pyspark():
    """pyspark is optional: no module of csqa.pipeline outside pipeline/spark/ imports it, and that package's
    __init__ does not either (only its engine, loaded by `csqa spark`)."""
    import ast

    from tests.conftest import ROOT

    offenders = []
    for path in (ROOT / "pipeline").rglob("*.py"):
        if path.parent.name == "spark" and path.name != "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] == "pyspark"]
    assert offenders == []
