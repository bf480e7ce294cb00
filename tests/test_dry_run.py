"""``csqa load --dry-run`` predicts the load, file by file, against the stored rows (read in place, not copied)."""

from __future__ import annotations

from collections import Counter

from csqa.pipeline.ingest.load import dry_run, load
from tests.conftest import INTERACTION_HEADER, interaction_row, query, write

MSG_HEAD = "message_id,interaction_id,sender_role,sent_at,is_public,text\n"
SURVEY_HEAD = "survey_id,interaction_id,sent_at,responded_at,score,comment\n"


def _rows(*rows: str) -> str:
    return INTERACTION_HEADER + "\n" + "\n".join(rows) + "\n"


def test_the_dry_run_predicts_the_load_file_by_file_against_stored_rows(tmp_path, db, config):
    stored = [interaction_row("I1"), interaction_row("I2", updated="2026-11-02T09:30:00Z"),
              interaction_row("I5", created="2026-11-03T09:00:00Z", first="2026-11-03T09:01:00Z",
                              resolved="2026-11-03T09:20:00Z")]
    base = tmp_path / "base"
    write(base / "interactions.csv", _rows(*stored))
    write(base / "messages.csv", MSG_HEAD + "M1,I1,customer,2026-11-02T09:00:00Z,true,hi\n")
    load([base], db, config)

    batch = tmp_path / "batch"
    write(batch / "interactions.csv", _rows(
        interaction_row("I1"),  # as stored: a duplicate
        interaction_row("I2", updated="2026-11-02T11:00:00Z"),  # newer than the stored version: loads
        interaction_row("I3"),  # new
        interaction_row("I4", created="2026-13-02T09:00:00Z"),  # not a date: quarantined
    ))
    write(batch / "messages.csv", MSG_HEAD
          + "M1,I9,customer,2026-11-02T09:00:00Z,true,hi\n"  # stored under I1: a key conflict
          + "M1,I1,customer,2026-11-02T09:00:00Z,true,hi\n"  # as stored: a duplicate
          + "M3,I3,agent,2026-11-02T09:05:00Z,true,ok\n")
    write(batch / "csat_surveys.csv", SURVEY_HEAD
          + "S1,I5,2026-11-02T08:00:00Z,2026-11-02T08:10:00Z,5,\n"  # before the stored I5 was created
          + "S2,I1,2026-11-02T10:00:00Z,2026-11-02T10:10:00Z,4,\n")

    report = dry_run([batch], db, config)
    counts = ("status", "entity", "rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate")
    predicted = {f["source_file"]: tuple(f[k] for k in counts) for f in report["files"]}
    assert predicted == {
        str(batch / "csat_surveys.csv"): ("loaded", "csat_surveys", 2, 1, 1, 0),
        str(batch / "interactions.csv"): ("loaded", "interactions", 4, 2, 1, 1),
        str(batch / "messages.csv"): ("loaded", "messages", 3, 1, 1, 1),
    }
    assert not any("rows_conflicting" in f for f in report["files"])  # a dry run does not compare tied rows
    by_check = Counter({q["check"]: q["rows"] for q in report["quarantine"]})
    assert {"message_key_conflict", "survey_not_before_creation"} <= set(by_check)

    summary = load([batch], db, config)
    assert {f.source_file: tuple(getattr(f, k) for k in counts) for f in summary.files} == predicted
    stored_checks = Counter(dict(query(db, "select check_name, count(distinct (source_file, row_number)) "
                                           "from audit.quarantine "
                                           "where batch_id = 2 group by 1")))
    assert stored_checks == by_check


def _long_rows(n: int) -> str:
    return _rows(*(interaction_row(f"I{i:06d}", message=f"case {i}: " + "my withdrawal is still pending " * 13)
                   for i in range(n)))


def _limit(config, limit: str):
    return config.model_copy(update={"warehouse": config.warehouse.model_copy(update={"memory_limit": limit})})


def test_the_dry_run_stages_in_files_under_the_memory_limit_and_leaves_no_folder(tmp_path, db, config, monkeypatch):
    import tempfile

    import pytest

    from csqa.pipeline.errors import WarehouseError
    from csqa.pipeline.ingest import load as L

    spill = tmp_path / "spill"
    spill.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spill))
    batch = write(tmp_path / "batch" / "interactions.csv", _long_rows(40_000))  # ~17 MB of text staged
    seen = {}
    checks = L._cross_entity_checks

    def spy(con, *args):  # once every file is staged: where the rows are, and what DuckDB holds of them
        seen["bytes"] = sum(f.stat().st_size for f in spill.glob("csqa-dry-run-*/stage/*.staged"))
        seen["rows"] = con.execute("select count(*) from stage_interactions").fetchall()[0][0]
        seen["memory"] = con.execute("select sum(memory_usage_bytes) from duckdb_memory()").fetchall()[0][0]
        return checks(con, *args)

    monkeypatch.setattr(L, "_cross_entity_checks", spy)
    assert dry_run([batch], db, _limit(config, "16MB"))["would_load"] == 40_000
    assert seen["rows"] == 40_000
    assert seen["bytes"] > 16 << 20 > seen["memory"]  # the staged rows are in the files, not in DuckDB's memory
    assert list(spill.iterdir()) == []  # removed after
    out_of_memory = r"(?s)cannot prepare the dry run's in-memory warehouse.*warehouse\.memory_limit = '1MB'"
    with pytest.raises(WarehouseError, match=out_of_memory):
        dry_run([batch], db, _limit(config, "1MB"))
    assert list(spill.iterdir()) == []


def test_a_load_that_commits_during_the_dry_run_stops_it(tmp_path, db, config, monkeypatch):
    import pytest

    from csqa.pipeline.errors import WarehouseError
    from csqa.pipeline.ingest import load as L

    load([write(tmp_path / "base" / "interactions.csv", _rows(interaction_row("I1")))], db, config)
    batch = write(tmp_path / "batch" / "interactions.csv", _rows(interaction_row("I4"), interaction_row("I5")))
    nightly = write(tmp_path / "nightly" / "interactions.csv", batch.read_text())
    stage = L._stage_file

    def stage_then_load(*args, **kwargs):  # the nightly commits the same file while the dry run reads it
        monkeypatch.setattr(L, "_stage_file", stage)
        out = stage(*args, **kwargs)
        load([nightly], db, config)
        return out

    monkeypatch.setattr(L, "_stage_file", stage_then_load)
    with pytest.raises(WarehouseError, match=r"changed during the dry run \(a load committed batch 2\)"):
        dry_run([batch], db, config)
    assert dry_run([batch], db, config)["files_skipped"] == 1  # run again: the file is known as loaded


def test_a_stopped_dry_run_removes_its_spill_folder(tmp_path, db):
    import os
    import signal
    import subprocess
    import sys
    import time

    spill = tmp_path / "spill"
    spill.mkdir()
    batch = write(tmp_path / "batch" / "interactions.csv", _long_rows(150_000))
    env = {**os.environ, "TMPDIR": str(spill)}
    p = subprocess.Popen([sys.executable, "-m", "csqa.pipeline.cli", "load", str(batch), "--db", str(db),
                          "--dry-run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(spill.glob("csqa-dry-run-*")) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert p.poll() is None, p.communicate()  # still reading when stopped
    time.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 128 + signal.SIGTERM and "Traceback" not in err
    assert list(spill.iterdir()) == []


def test_the_dry_run_reads_a_warehouse_from_before_a_migration(tmp_path, db, config):
    import duckdb

    write(tmp_path / "base" / "interactions.csv", _rows(interaction_row("I1"), interaction_row("I2")))
    load([tmp_path / "base"], db, config)
    con = duckdb.connect(str(db))  # as csqa left it before migration 002 added the column
    con.execute("alter table raw.interactions drop column topic_label")
    con.execute("delete from audit.schema_migrations where name = '002_topic_label.sql'")
    con.close()
    batch = write(tmp_path / "batch" / "interactions.csv", _rows(
        interaction_row("I1"), interaction_row("I2", updated="2026-11-02T11:00:00Z"), interaction_row("I3")))
    report = dry_run([batch], db, config)
    assert (report["would_load"], report["rows_duplicate"]) == (2, 1)
    assert query(db, "select count(*) from duckdb_columns() where table_name = 'interactions' "
                     "and column_name = 'topic_label'") == [(0,)]  # not migrated by the dry run


def test_the_dry_runs_lines_name_each_check_as_people_read_it(tmp_path, db, config):
    """A new user's review: the check name was cut at 60 characters and ran into the column ("…'phone', 's column
    channel"), and a record that did not split read "column None  e.g. (empty)"."""
    from csqa.pipeline.ingest.load import render_dry_run

    write(tmp_path / "interactions.csv", "\n".join(
        [INTERACTION_HEADER, interaction_row("I1", channel="telegram"), "I2,web_chat,2026-11-02T09:00:00Z"]) + "\n")
    lines = render_dry_run(dry_run([tmp_path / "interactions.csv"], db, config)).splitlines()
    assert any(line.split() == ["1", "isin(…)", "column", "channel", "e.g.", "'telegram'", "(rows", "1)"]
               for line in lines), lines
    record = next(line for line in lines if "field_count" in line)
    assert "the whole record  e.g. (no value) (rows 2)" in record and "None" not in record
