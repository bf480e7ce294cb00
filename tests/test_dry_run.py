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
    by_check = Counter({q["check"]: q["rows"] for q in report["quarantine"]})
    assert {"message_key_conflict", "survey_not_before_creation"} <= set(by_check)

    summary = load([batch], db, config)
    assert {f.source_file: tuple(getattr(f, k) for k in counts) for f in summary.files} == predicted
    stored_checks = Counter(dict(query(db, "select check_name, count(distinct (source_file, row_number)) "
                                           "from audit.quarantine "
                                           "where batch_id = 2 group by 1")))
    assert stored_checks == by_check


def test_the_dry_run_stages_under_the_memory_limit_and_leaves_no_spill_folder(tmp_path, db, config, monkeypatch):
    import tempfile

    import pytest

    from csqa.pipeline.errors import WarehouseError

    spill = tmp_path / "spill"
    spill.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spill))
    batch = write(tmp_path / "batch" / "interactions.csv", _rows(*(interaction_row(f"I{i}") for i in range(3000))))
    assert dry_run([batch], db, config)["would_load"] == 3000
    tight = config.model_copy(update={"warehouse": config.warehouse.model_copy(update={"memory_limit": "1MB"})})
    with pytest.raises(WarehouseError, match=r"(?s)dry run could not finish.*warehouse\.memory_limit = '1MB'"):
        dry_run([batch], db, tight)
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
