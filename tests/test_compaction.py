"""The load's commit defers DuckDB's vacuum until a table holds a row group's worth of deleted rows
(pipeline/model/compaction.py), on a real DuckDB file."""

import duckdb

from csqa.pipeline.model import compaction

ROW_GROUP = 122_880


def _table(tmp_path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema marts")
    # two full row groups; deleting every other row lets a vacuum store the rest in one
    con.execute(f"create table marts.t as select range as i, 'row ' || range as s from range({2 * ROW_GROUP})")
    con.execute("checkpoint")
    return con


def _half_deleted(con, vacuum_after: int) -> bool:
    con.execute("begin transaction")
    con.execute("delete from marts.t where i % 2 = 0")
    con.execute("insert into marts.t values (-1, 'new')")
    return compaction.commit(con, vacuum_after=vacuum_after)


def test_deleted_rows_counts_what_is_stored_but_not_live(tmp_path):
    con = _table(tmp_path)
    assert compaction.deleted_rows(con) == {}
    con.execute("delete from marts.t where i < 1000")
    assert compaction.deleted_rows(con) == {"marts.t": 1000}


def test_without_deferral_the_checkpoint_merges_the_row_groups(tmp_path):
    con = _table(tmp_path)
    assert _half_deleted(con, vacuum_after=0)  # always due: DuckDB's own behaviour
    assert compaction.deleted_rows(con) == {}
    assert con.execute("select count(*), sum(i) from marts.t").fetchall() == [(ROW_GROUP + 1, ROW_GROUP**2 - 1)]


def test_the_vacuum_waits_until_deleted_rows_add_up_then_runs(tmp_path):
    con = _table(tmp_path)
    assert not _half_deleted(con, vacuum_after=ROW_GROUP)  # nothing deleted before this commit: deferred
    assert compaction.deleted_rows(con) == {"marts.t": ROW_GROUP}
    rows = con.execute("select count(*), sum(i) from marts.t").fetchall()
    assert rows == [(ROW_GROUP + 1, ROW_GROUP**2 - 1)]
    con.close()  # the deferred rows survive reopening (the next load's connection)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert compaction.deleted_rows(con) == {"marts.t": ROW_GROUP}
    con.execute("begin transaction")
    con.execute("insert into marts.t values (-2, 'next night')")
    assert compaction.commit(con, vacuum_after=ROW_GROUP)  # a row group's worth waiting: this checkpoint vacuums
    assert compaction.deleted_rows(con) == {}
    assert con.execute("select count(*), sum(i) from marts.t").fetchall() == [(ROW_GROUP + 2, ROW_GROUP**2 - 3)]
