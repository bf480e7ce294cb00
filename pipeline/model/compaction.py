"""Committing a load: DuckDB's vacuum deferred until the deleted rows are worth it.

Every commit of a batch is followed by DuckDB's checkpoint (the write-ahead log is far over
``checkpoint_threshold``), and the checkpoint's vacuum merges neighbouring row groups whenever deleted rows or small
row groups let it store them in fewer: a nightly batch deletes the fact table's open rows (rewritten with the batch,
sql/marts/01_fct_interactions.sql) and appends a partly filled row group to each table, so every night it rewrote
the last four row groups of ``marts.fct_interactions`` and of ``raw.interactions`` (about 490,000 rows each, every
column re-compressed): a 100k batch's checkpoint in a 10M warehouse took 1.8–5.3 s with the vacuum and 0.7–0.9 s
without it, 0.5 s into an empty one, which has nothing to merge (docs/BENCHMARKS.md, "fourth session: P3"; a busy
machine).

So a commit vacuums only when some table already holds at least ``VACUUM_AFTER_ROWS`` deleted rows (one row group's
worth; DuckDB's ``estimated_size`` counts them, ``count(*)`` does not): the deleted rows of several nights are then
merged away in one checkpoint. Until then a table carries at most that many deleted rows, which its scans skip.
What is stored and read is the same either way; only the physical packing differs.
"""

from __future__ import annotations

import duckdb

# one DuckDB row group
VACUUM_AFTER_ROWS = 122_880


def deleted_rows(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Deleted rows still stored, per table (committed state of ``con``'s database; tables without any left out).
    One query for every table's count (one each cost a round trip per table, ~35 at each commit)."""
    tables = con.execute(
        "select schema_name, table_name, estimated_size from duckdb_tables() "
        "where not temporary and database_name = current_database()").fetchall()
    if not tables:
        return {}
    counts = " union all ".join(f'select {i} as i, count(*) as n from "{schema}"."{table}"'
                                for i, (schema, table, _) in enumerate(tables))
    live = dict(con.execute(counts).fetchall())
    return {f"{schema}.{table}": stored - live[i] for i, (schema, table, stored) in enumerate(tables)
            if stored > live[i]}


def commit(con: duckdb.DuckDBPyConnection, *, vacuum_after: int = VACUUM_AFTER_ROWS, on_commit=None) -> bool:
    """Commit ``con``'s open transaction. Its checkpoint vacuums only when a table held at least ``vacuum_after``
    deleted rows before this transaction (read on a second connection, which sees the committed state); the
    transaction is checkpointed before returning. Returns whether the checkpoint was allowed to vacuum.
    ``on_commit`` is called once the commit is done, before the checkpoint (which may still fail or be stopped)."""
    reader = con.cursor()
    try:
        due = max(deleted_rows(reader).values(), default=0) >= vacuum_after
    finally:
        reader.close()
    if not due:
        con.execute("set max_vacuum_tasks = 0")
    con.execute("commit")
    if on_commit is not None:
        on_commit()
    # the checkpoint, now (a no-op when the commit's own ran): a small batch's log stays under
    # checkpoint_threshold, and the checkpoint on closing would run with the default vacuum
    con.execute("checkpoint")
    if not due:
        con.execute("reset max_vacuum_tasks")
    return due
