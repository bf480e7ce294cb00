"""`csqa spark load`: the same contract, quarantine and upsert rule as `csqa load`, on Spark (docs/SCALE.md).

Parity: the raw tables and the quarantine the Spark engine writes to the lake equal the ones `csqa load`
writes to DuckDB, row for row, on the sample data and on a generated set with faults. One SparkSession
(local[2]) serves the module. Skipped only where pyspark or Java is missing.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from csqa.pipeline.ingest.contract import MODELS
from csqa.pipeline.ingest.load import load
from csqa.pipeline.spark import missing
from csqa.pipeline.synth.generate import generate
from tests.conftest import SAMPLE, query

needs_spark = pytest.mark.skipif(missing() is not None, reason=f"Spark cannot run here: {missing()}")

Q_COLS = "source_file, entity, row_number, column_name, check_name, failing_value, raw_row"


def _csqa(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "csqa.pipeline.cli", *args], capture_output=True, text=True,
                          timeout=900, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def spark():
    from csqa.pipeline.spark.engine import session

    s = session("local[2]", app="csqa-tests")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def sample_pair(tmp_path_factory, config):
    """sample_data/ loaded by `csqa load` into a DuckDB file and by the command `csqa spark load` (which
    rebuilds the marts after the load) into a lake, once for the module: (db, lake, DuckDB summary, Spark
    summary as the command's JSON line)."""
    tmp = tmp_path_factory.mktemp("sample_pair")
    db, lake = tmp / "wh.duckdb", tmp / "lake"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CSQA_PSEUDONYM_KEY", "test-key-not-secret")
        duck = load([SAMPLE], db, config).as_dict()
        r = _csqa("spark", "load", str(SAMPLE), "--lake", str(lake), "--json")
    assert r.returncode == 0, r.stderr[-3000:]
    return db, lake, duck, json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def faulty_set(tmp_path_factory) -> Path:
    """Like `csqa generate --dirty-rate 0.1`, messages included (small: the test runs in CI)."""
    out = tmp_path_factory.mktemp("faulty")
    generate(out, n=600, days=10, seed=11, dirty_rate=0.1)
    # two answers of one interaction at the same instant: both engines give the larger survey_id's score and comment
    iid, created = duckdb.sql(f"select interaction_id, created_at::timestamptz from read_csv('{out}/interactions.csv', "
                              "all_varchar = true) where try_cast(created_at as timestamptz) is not null "
                              "and interaction_id not in (select interaction_id from "
                              f"read_csv('{out}/csat_surveys.csv', all_varchar = true)) "
                              "order by interaction_id limit 1").fetchall()[0]
    sent, answered = (created + dt.timedelta(hours=h) for h in (1, 2))
    with (out / "csat_surveys.csv").open("a", encoding="utf-8") as fh:
        for sid, score, comment in (("ZZ-TIE-B", 1, "slow"), ("ZZ-TIE-A", 5, "great")):
            fh.write(f"{sid},{iid},{sent.isoformat()},{answered.isoformat()},{score},{comment}\n")
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


def _assert_parity(db: Path, lake: Path, entities=MODELS) -> dict:
    wh = duckdb.connect(str(db), read_only=True)
    lk = _lake_con(lake)
    counts = {}
    try:
        for entity in entities:
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
def test_sample_data_parity(sample_pair):
    db, lake, duck, sp = sample_pair
    counts = _assert_parity(db, lake)
    assert counts["interactions"] > 8000 and counts["messages"] > 0 and counts["quarantine"] > 0
    summary = {k: v for k, v in sp.items() if k.startswith(("rows_", "files_"))}
    assert summary == {k: v for k, v in duck.items() if k.startswith(("rows_", "files_"))}
    assert summary["rows_duplicate"] > 0  # the dirty export resends older versions: the upsert chose
    # the command says it rebuilt the marts, and of how many interactions
    assert sp["marts"]["full"] and sp["marts"]["interactions"] == counts["interactions"]


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


@needs_spark
def test_a_later_batch_keeps_the_newest_version_as_duckdb_does(spark, tmp_path, config):
    """A second delivery of stored interactions and surveys: a newer version replaces the stored row, an older one
    and an equal one are duplicates, and the lake ends with the rows the warehouse holds."""
    from csqa.pipeline.spark.engine import load as spark_load
    from tests.conftest import INTERACTION_HEADER, interaction_row, write

    first, second = tmp_path / "first", tmp_path / "second"
    write(first / "interactions.csv", "\n".join(
        [INTERACTION_HEADER, *(interaction_row(i, updated="2026-11-02T10:00:00Z", subject="v1")
                               for i in ("NEW", "OLD", "SAME", "TIE"))]) + "\n")
    write(first / "csat_surveys.csv", "survey_id,interaction_id,sent_at,responded_at,score,comment\n"
          "S1,NEW,2026-11-02T10:00:00Z,,,\nS2,OLD,2026-11-02T10:00:00Z,2026-11-02T12:00:00Z,4,ok\n")
    write(first / "messages.csv", "message_id,interaction_id,sender_role,sent_at,is_public,text\n"
          "M1,NEW,customer,2026-11-02T09:00:00Z,true,hi\n")
    write(second / "interactions.csv", "\n".join(
        [INTERACTION_HEADER, interaction_row("NEW", updated="2026-11-02T11:00:00Z", subject="v2"),
         interaction_row("OLD", updated="2026-11-02T09:40:00Z", subject="v0"),
         interaction_row("SAME", updated="2026-11-02T10:00:00Z", subject="v1"),
         interaction_row("TIE", updated="2026-11-02T10:00:00Z", subject="v1, corrected")]) + "\n")
    write(second / "broken.csv", "not,an,export\n1,2,3\n")  # rejected whole: the batch's audit has an error
    write(second / "messages.jsonl", "")  # a quiet day's export: loaded with no rows, as in DuckDB
    write(second / "csat_surveys.csv", "survey_id,interaction_id,sent_at,responded_at,score,comment\n"
          "S1,NEW,2026-11-02T10:00:00Z,2026-11-02T13:00:00Z,5,great\nS2,OLD,2026-11-02T10:00:00Z,,,\n")
    db, lake = tmp_path / "wh.duckdb", tmp_path / "lake"
    for batch in (first, second):
        duck = load([batch], db, config)
        sp = spark_load([batch], lake, config, spark=spark)
        keep = ("rows_read", "rows_loaded", "rows_duplicate", "rows_conflicting", "files_rejected")
        assert {k: sp.as_dict()[k] for k in keep} == {k: duck.as_dict()[k] for k in keep}
        assert sorted((f.source_file, f.notes) for f in sp.files) == sorted((f.source_file, f.notes)
                                                                             for f in duck.files)
    assert duck.as_dict()["rows_loaded"] == 2 and duck.as_dict()["rows_duplicate"] == 4
    assert duck.as_dict()["rows_conflicting"] == 1 and duck.as_dict()["files_rejected"] == 1
    lk = _lake_con(lake)
    assert sorted(lk.execute("select interaction_id, subject from interactions").fetchall()) == [
        ("NEW", "v2"), ("OLD", "v1"), ("SAME", "v1"), ("TIE", "v1")]
    from csqa.pipeline.ops.lake import lake_views

    audit = duckdb.sql("select count(error), string_agg(notes) from "
                       f"({lake_views(lake)['audit.load_batches']})").fetchall()
    assert audit[0][0] == 1 and "1 row(s) differ from the stored version" in audit[0][1]  # (error: unreadable)
    assert sorted(lk.execute("select survey_id, score from csat_surveys").fetchall()) == [("S1", 5), ("S2", 4)]
    _assert_parity(db, lake, entities=("interactions", "csat_surveys", "messages"))
    quiet = write(tmp_path / "third" / "csat_surveys.jsonl", "\n")  # an empty file and a rejected one: recorded by both
    junk = write(tmp_path / "third" / "random.csv", "not,an,export\n1,2,3\n")
    duck, sp = load([quiet, junk], db, config), spark_load([quiet, junk], lake, config, spark=spark)
    assert duck.batch_id == sp.batch_id == 3 and [f.notes for f in sp.files] == [f.notes for f in duck.files]
    rejected = "select batch_id, status from {} where batch_id = 3 and status = 'rejected'"
    assert duckdb.sql(rejected.format(f"({lake_views(lake)['audit.load_batches']})")).fetchall() == query(
        db, rejected.format("audit.load_batches")) == [(3, "rejected")]
    empty = "select batch_id, entity, rows_read, status from {} where rows_read = 0 and entity is not null order by all"
    assert duckdb.sql(empty.format(f"({lake_views(lake)['audit.load_batches']})")).fetchall() == query(
        db, empty.format("audit.load_batches")) == [(2, "messages", 0, "loaded"), (3, "csat_surveys", 0, "loaded")]


@needs_spark
def test_a_lake_refuses_another_pseudonym_key_as_a_warehouse_does(spark, tmp_path, config, monkeypatch):
    """A lake keeps its key's fingerprint (audit/pseudonym_key.parquet, the view audit.pseudonym_key): written by its
    first Spark load, or copied by `csqa export --lake` from the warehouse. A Spark load under another key, or with
    none, is refused before Spark starts, and the lake is left as it was."""
    from csqa.pipeline.errors import ConfigError
    from csqa.pipeline.ingest.privacy import key_fingerprint, key_path
    from csqa.pipeline.ops.lake import fingerprint_path, lake_fingerprint
    from csqa.pipeline.spark.engine import load as spark_load
    from tests.conftest import INTERACTION_HEADER, interaction_row, write

    src = write(tmp_path / "in" / "interactions.csv", "\n".join([INTERACTION_HEADER, interaction_row("I1")]) + "\n")
    lake = tmp_path / "lake"
    spark_load([src], lake, config, spark=spark)  # under the conftest's CSQA_PSEUDONYM_KEY
    assert lake_fingerprint(lake) == key_fingerprint(b"test-key-not-secret")
    db = tmp_path / "wh.duckdb"
    load([src], db, config)
    key_path(db).write_text("a stray key file the warehouse's ids were not made with")
    exported = tmp_path / "exported"
    r = _csqa("export", "--db", str(db), "--lake", str(exported))
    assert r.returncode == 0, r.stderr
    assert lake_fingerprint(exported) == query(db, "select fingerprint from audit.pseudonym_key")[0][0]
    assert not key_path(exported / "lake").exists()  # not copied: Spark loads need the warehouse's own key
    for target in (lake, exported):
        before = sorted(str(p) for p in target.rglob("*"))
        monkeypatch.setenv("CSQA_PSEUDONYM_KEY", "another-key")
        with pytest.raises(ConfigError, match="is not the one this lake's customer ids were made with"):
            spark_load([src], target, config, spark=None)  # (refused before a session is started)
        monkeypatch.delenv("CSQA_PSEUDONYM_KEY")
        with pytest.raises(ConfigError, match="this run has none"):
            spark_load([src], target, config, spark=None)
        assert sorted(str(p) for p in target.rglob("*")) == before
    assert fingerprint_path(lake).is_file()


def test_only_the_spark_package_imports_pyspark():
    """pyspark and sqlglot are optional: no module of csqa.pipeline outside pipeline/spark/ imports them, and
    that package's __init__ does not either (only its engine, marts and dialect, loaded by `csqa spark`)."""
    import ast

    from tests.conftest import ROOT

    offenders = []
    for path in (ROOT / "pipeline").rglob("*.py"):
        if path.parent.name == "spark" and path.name != "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in ("pyspark", "sqlglot")]
    assert offenders == []


# --- marts: the same SQL on both engines ------------------------------------------------------------


def _mart_names() -> list[str]:
    from csqa.pipeline.model.marts import mart_models

    return [name for name, *_ in mart_models()] + ["faq_clusters", "faq_cluster_members"]


def _sort_key(row: tuple) -> str:
    return repr([round(v, 4) if isinstance(v, float) and v == v else v for v in row])


def _same(x, y) -> bool:
    """Equal; floats (durations, sums, rates) within 1e-9 (relative or absolute)."""
    if isinstance(x, float) or isinstance(y, float):
        if x is None or y is None:
            return x is None and y is None
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
    return x == y


def _assert_marts_parity(db: Path, lake: Path) -> dict[str, int]:
    """Every mart the lake holds equals the DuckDB warehouse's: same columns, same rows (keys and counts
    exactly, floats within 1e-9). Returns the row count of each."""
    wh = duckdb.connect(str(db), read_only=True)
    lk = duckdb.connect()
    counts = {}
    try:
        for con in (wh, lk):
            con.execute("set timezone = 'UTC'")
        for name in _mart_names():
            cols = [r[0] for r in wh.execute(
                "select column_name from duckdb_columns() where schema_name = 'marts' and table_name = ? "
                "order by column_index", [name]).fetchall()]
            files = str(lake / "marts" / name / "*.parquet")
            got_cols = [r[0] for r in lk.execute(f"describe select * from read_parquet('{files}')").fetchall()]
            assert got_cols == cols, name
            sel = ", ".join(cols)
            expected = sorted(wh.execute(f"select {sel} from marts.{name}").fetchall(), key=_sort_key)
            got = sorted(lk.execute(f"select {sel} from read_parquet('{files}')").fetchall(), key=_sort_key)
            assert len(got) == len(expected), name
            diffs = [(name, c, x, y) for ra, rb in zip(expected, got, strict=True)
                     for c, x, y in zip(cols, ra, rb, strict=True) if not _same(x, y)]
            assert diffs[:5] == [], name
            counts[name] = len(got)
    finally:
        wh.close()
        lk.close()
    return counts


@needs_spark
def test_sample_marts_parity(sample_pair):
    """sample_data/: every mart Spark builds from the lake equals the one `csqa load` builds in DuckDB."""
    db, lake, *_ = sample_pair
    counts = _assert_marts_parity(db, lake)
    # not a vacuous equality: every mart has rows on the sample (FAQ gaps, clusters, deflection included)
    assert all(n > 0 for n in counts.values()), counts
    assert counts["fct_interactions"] > 8000


@needs_spark
def test_an_article_with_no_complete_week_on_one_side_has_a_summary_in_both_engines(spark, tmp_path, config):
    """Published two days after a hole in the data (one stray ticket months before): no complete week before it.
    DuckDB divided by that zero count into NULL; Spark's ANSI mode raised, and `csqa spark load` ended in an
    internal error after writing the batch (an operator review, 2026-11-28)."""
    import datetime as dt

    from csqa.pipeline.spark.engine import load as spark_load
    from csqa.pipeline.spark.marts import refresh
    from tests.conftest import INTERACTION_HEADER, interaction_row, write

    rows = []
    for i in range(41):
        t = (dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC) + dt.timedelta(days=i)).isoformat().replace("+00:00", "Z")
        rows.append(interaction_row(f"I{i}", topic="kyc", message="", created=t, first=t, resolved=t))
    rows.append(interaction_row("stray", topic="deposit", message="", created="2026-05-01T09:00:00Z",
                                first="2026-05-01T09:00:00Z", resolved="2026-05-01T09:00:00Z"))
    src = tmp_path / "in"
    write(src / "interactions.csv", INTERACTION_HEADER + "\n" + "\n".join(rows) + "\n")
    write(src / "faq_articles.csv", "article_id,topic,language,title,body,status,published_at,updated_at\n"
          "K1,kyc,en,Verify,Upload your ID,published,2026-10-03T00:00:00Z,2026-10-03T00:00:00Z\n")
    db, lake = tmp_path / "wh.duckdb", tmp_path / "lake"
    load([src], db, config)
    spark_load([src], lake, config, spark=spark)
    refresh(lake, config, spark=spark)
    summary = "select article_id, count_weeks_before, count_weeks_after, z_score, is_beyond_noise from {}"
    assert query(db, summary.format("marts.faq_deflection_summary")) == [("K1", 0, 4, None, False)]
    from csqa.pipeline.ops.lake import connect_lake

    lk = connect_lake(lake)
    try:
        assert lk.execute(summary.format("marts.faq_deflection_summary")).fetchall() == [("K1", 0, 4, None, False)]
    finally:
        lk.close()


@needs_spark
def test_faulty_set_marts_parity_and_idempotent_refresh(spark, tmp_path, config, faulty_set):
    from csqa.pipeline.spark.engine import load as spark_load
    from csqa.pipeline.spark.marts import refresh

    db, lake = tmp_path / "wh.duckdb", tmp_path / "lake"
    load([faulty_set], db, config)
    spark_load([faulty_set], lake, config, spark=spark)
    refresh(lake, config, spark=spark)
    counts = _assert_marts_parity(db, lake)
    assert counts["fct_interactions"] > 500 and counts["sla_compliance"] > 0
    # the fixture's tie: the larger survey_id's answer, on both engines (the parity above)
    tie = query(db, "select csat_score, csat_comment, count_surveys_answered from marts.fct_interactions "
                    "where interaction_id = (select interaction_id from raw.csat_surveys where survey_id = 'ZZ-TIE-B')")
    assert tie[0][:2] == (1, "slow") and tie[0][2] >= 2
    before = sorted(p.relative_to(lake).as_posix() for p in (lake / "marts").rglob("*.parquet"))
    refresh(lake, config, spark=spark)  # a rerun rewrites each table whole: the same marts, no leftovers
    assert _assert_marts_parity(db, lake) == counts
    assert not list((lake / "marts").glob("*.new")) and not list((lake / "marts").glob("*.old"))
    assert len(sorted((lake / "marts").rglob("*.parquet"))) == len(before)


@needs_spark
def test_marts_timestamps_are_microseconds(sample_pair):
    import pyarrow.parquet as pq

    _, lake, *_ = sample_pair
    part = next((lake / "marts" / "fct_interactions").glob("*.parquet"))
    schema = pq.read_schema(part)
    for col in ("created_at", "resolved_at", "first_response_at"):
        assert schema.field(col).type.unit == "us", col


def test_every_sql_model_transpiles_to_spark():
    """Each staging and marts file goes through the Spark macros; the DuckDB-only constructs are gone
    (no ASOF join, epoch, timezone(), to_days, range(), list())."""
    pytest.importorskip("sqlglot")
    from csqa.pipeline.model.warehouse import sql_files
    from csqa.pipeline.spark.dialect import statements, to_spark

    macros: dict = {}
    for layer in ("staging", "marts"):
        for f in sql_files(layer):
            for stmt in statements(f.read_text(encoding="utf-8"), macros):
                target, sql = to_spark(stmt)
                assert (target is not None) == (layer == "staging"), f.name
                for duckdb_only in (r"\basof\s+(left\s+)?join", r"\bepoch\(", r"\btimezone\(", r"\bto_days\(",
                                    r"\brange\(", r"\blist\(", r"\bunix_timestamp\(", r"\bmacro\b", r"\bquery_table\(",
                                    r"\bduration_bucket_upper\(",
                                    *(rf"\b{re.escape(m)}\s*\(" for m in macros)):
                    assert not re.search(duckdb_only, sql, re.I), (f.name, duckdb_only)


def test_table_macros_expand_into_each_view_that_calls_them():
    """A DuckDB table macro (one query for the whole table and for the refresh scope) becomes, in each view
    that calls it, its own query with the argument in place of the parameter; a later file's macro may call
    an earlier one."""
    pytest.importorskip("sqlglot")
    from csqa.pipeline.spark.dialect import UntranslatableSql, statements

    macros: dict = {}
    first = statements("""-- the rows; DuckDB-only
create or replace macro staging.rows(in_scope) as table
select * from raw.t where not in_scope or id in (select id from staging.scope);
create or replace view staging.all_rows as select * from staging.rows(false);
create or replace view staging.scoped as select * from staging.rows(true)""", macros)
    assert first == [
        "create or replace view staging.all_rows as select * from "
        "(select * from raw.t where not false or id in (select id from staging.scope)) as rows",
        "create or replace view staging.scoped as select * from "
        "(select * from raw.t where not true or id in (select id from staging.scope)) as rows"]
    later = statements("create or replace macro staging.q(s) as table select id from staging.rows(s);\n"
                       "create view staging.qs as select * from staging.q(true)", macros)
    assert later == ["create view staging.qs as select * from (select id from (select * from raw.t where not true "
                     "or id in (select id from staging.scope)) as rows) as q"]
    # a relation passed by name and read with query_table()
    assert statements("create macro staging.of(src) as table select id from query_table(src);\n"
                      "create view staging.v as select * from staging.of('raw.t')") == [
        "create view staging.v as select * from (select id from raw.t) as of"]
    with pytest.raises(UntranslatableSql, match="1 arguments for 2 parameters"):
        statements("create macro staging.two(a, b) as table select a, b;\nselect * from staging.two(1)")


def test_dialect_macros_translate_constructs_not_metrics():
    pytest.importorskip("sqlglot")
    from csqa.pipeline.spark.dialect import UntranslatableSql, to_spark

    _, sql = to_spark("select list(q order by n desc, q)[1:3] as e from t group by all")
    assert "ARRAY_SORT(COLLECT_LIST(" in sql and "SLICE(" in sql
    _, sql = to_spark("select * from staging.x as t asof left join staging.business_calendar as c "
                      "on c.schedule = t.schedule and t.at >= c.open_at")
    assert "LEFT JOIN staging__business_calendar__asof AS c" in sql and "c._asof_day = TO_DATE(t.at)" in sql
    assert "ASOF" not in sql
    _, sql = to_spark("select staging.duration_bucket_upper(t.s) as b from t")
    assert sql.startswith("SELECT CASE WHEN (t.s) < 0 THEN NULL WHEN (t.s) < 30 THEN CAST(30 AS DOUBLE)")
    assert "DURATION_BUCKET" not in sql.upper()
    _, sql = to_spark("select staging.duration_bucket_upper(epoch(t.b) - epoch(t.a)) as b from t")
    assert "UNIX_MICROS(t.b) / 1e6" in sql and "UNIX_TIMESTAMP" not in sql.upper()  # the argument's own macros
    _, sql = to_spark("select (a + 1.0) / 2 from t")
    assert "CAST(1.0 AS DOUBLE)" in sql
    with pytest.raises(UntranslatableSql):
        to_spark("select * from a asof join b on a.k = b.k and a.t >= b.t")
    with pytest.raises(UntranslatableSql):
        to_spark("select list(x) from t")


# --- reading the lake: csqa sql --lake, csqa dashboard --lake (DuckDB over Parquet, no Spark) ------------

READER_QUERIES = [  # what analysts and the dashboard ask, in the reporting zone
    "select channel, count(*) as n, round(sum(first_response_business_seconds), 3) as fr_b, "
    "count(*) filter (where resolution_sla_status = 'breached') as breached "
    "from marts.fct_interactions group by channel order by channel",
    "select created_day, sum(count_first_response_met) as met, sum(count_interactions) as n "
    "from marts.sla_compliance group by 1 order by 1",
    "select gap_type, topic, language, priority_rank, round(priority_score, 6) as score from marts.faq_gaps "
    "order by priority_rank",
    "select day, channel, count_open_at_end from marts.backlog_daily order by day, channel",
    "select reporting_timezone, min_sample from staging.settings",
    "select check_name, count(*) as n from audit.quarantine group by 1 order by 1",
    "select count(*) as n, min(created_at)::date as first_day from raw.interactions",
]


def test_spark_refresh_without_a_lake_exits_2_before_starting_spark(tmp_path):
    r = _csqa("spark", "refresh", "--lake", str(tmp_path))
    if missing() is None:
        assert r.returncode == 2 and "no lake here" in r.stderr and "Traceback" not in r.stderr
    else:
        assert r.returncode == 2 and "csqa spark needs Spark" in r.stderr


@needs_spark
def test_csqa_sql_lake_shows_the_same_numbers_as_the_warehouse(sample_pair, tmp_path):
    db, lake, *_ = sample_pair
    for q in READER_QUERIES:
        duck = _csqa("sql", "--db", str(db), "--csv", q)
        spark = _csqa("sql", "--lake", str(lake), "--csv", q)
        assert duck.returncode == 0 and spark.returncode == 0, (duck.stderr, spark.stderr)
        assert len(duck.stdout.splitlines()) > 1
        assert spark.stdout == duck.stdout, q
    # locked down like the warehouse session: no other file, not even to write beside the lake
    r = _csqa("sql", "--lake", str(lake), f"copy (select 1) to '{tmp_path}/x.csv'")
    assert r.returncode == 2 and "Traceback" not in r.stderr and not (tmp_path / "x.csv").exists()
    r = _csqa("sql", "--lake", str(tmp_path), "select 1")
    assert r.returncode == 2 and "csqa spark refresh" in r.stderr


@needs_spark
def test_dashboard_lake_serves_the_same_numbers(sample_pair, monkeypatch):
    """A real `csqa dashboard --lake` server starts and is healthy; the overview, rendered on the lake and on
    the warehouse, shows the same cards."""
    import socket
    import time
    import urllib.request

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    db, lake, *_ = sample_pair
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "csqa.pipeline.cli", "dashboard", "--lake", str(lake),
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline, healthy = time.time() + 60, False
        while time.time() < deadline and not healthy:
            try:
                healthy = urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status == 200
            except OSError:
                time.sleep(0.5)
        assert healthy
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        proc.stdout.close()

    cards = {}
    for name, var, value in (("warehouse", "CSQA_DB", db), ("lake", "CSQA_LAKE", lake)):
        monkeypatch.delenv("CSQA_LAKE", raising=False)
        monkeypatch.setenv(var, str(value))
        st.cache_data.clear()
        at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=90).run()
        assert not at.exception, name
        cards[name] = {m.label: m.value for m in at.metric}
    st.cache_data.clear()
    assert len(cards["lake"]) >= 5 and cards["lake"] == cards["warehouse"]


# --- csqa export --lake: a DuckDB warehouse handed over to Spark ------------------------------------------


@needs_spark
def test_export_then_spark_refresh_gives_the_duckdb_marts(sample_pair, spark, tmp_path, config):
    from csqa.pipeline.spark.engine import load as spark_load
    from csqa.pipeline.spark.marts import refresh

    db, *_ = sample_pair
    lake = tmp_path / "exported"
    r = _csqa("export", "--db", str(db), "--lake", str(lake), "--json")
    assert r.returncode == 0, r.stderr
    assert '"interactions": 8' in r.stdout
    refresh(lake, config, spark=spark)
    counts = _assert_marts_parity(db, lake)
    assert all(n > 0 for n in counts.values())
    _assert_parity(db, lake)  # raw tables and quarantine in the lake layout, row for row
    # Spark takes over: the files the warehouse loaded are known to the lake (same sha256: skipped)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CSQA_PSEUDONYM_KEY", "test-key-not-secret")
        again = spark_load([SAMPLE], lake, config, spark=spark)
    assert again.batch_id is None and again.count("skipped") == len(again.files)
    # into a lake that exists: refused with a message, nothing overwritten
    r = _csqa("export", "--db", str(db), "--lake", str(lake))
    assert r.returncode == 2 and "already holds a lake" in r.stderr
