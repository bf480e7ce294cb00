"""``marts.interaction_lookup``: each interaction's created day by a hash of its id, for a look-up by id alone.

The fact table is written in created-day order, so a filter on ``created_day`` reads only the row groups of those
days. A look-up by ``interaction_id`` alone skips a row group only where its zone map's range of ids leaves the id
out, and ids need not follow time (a helpdesk's ids per brand or source; the generator's ten files each span the
whole year), so it compared every stored id: 259-280 ms at 10M interactions (docs/BENCHMARKS.md). This table
holds one row per interaction, ``(id_hash, created_day)`` with ``id_hash = hash(interaction_id)`` (DuckDB's 64-bit
hash, a ``UBIGINT``): a scan of one integer column finds the day (about 20 ms at 10M), and the fact row is then
read within that day: 54 ms in all by the median of ``benchmarks/bench_dashboard.py``.

A hash is not an id: two interactions may share one (a 64-bit hash: about 3 in a million warehouses of 10M
interactions hold such a pair), so a reader asks the fact table for the id itself on the days it finds. The table
only makes a look-up fast and never decides what is found: a reader that finds no day, or no row on the days it
finds, looks the id up in the whole fact table as before (dashboard/data.py, ``conversation``).

Kept in the load's transaction with the fact table (``marts.refresh``): a full refresh writes it whole; an
incremental one compares the scope's fact rows as the fact table held them (``_scope_before``) with its new rows
(``_scope_after``), inserts the rows of new interactions and replaces those whose created day moved (``update``).

DuckDB's ``hash`` may change between its versions: the table's comment records the hash of a fixed text when it
was written, and a refresh that computes another rewrites it.
"""

from __future__ import annotations

import duckdb

TABLE = "marts.interaction_lookup"
_PROBE = "csqa interaction lookup"  # hashed into the table's comment: which hash function wrote the table


def _probe(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.execute("select hash(?)", [_PROBE]).fetchall()[0][0])


def is_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the table exists and was written with this DuckDB's hash function."""
    comment = con.execute("select comment from duckdb_tables() where schema_name = 'marts' "
                          "and table_name = 'interaction_lookup'").fetchall()
    return bool(comment) and comment[0][0] == _probe(con)


def rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """Written whole from the fact table (a full refresh, or a table missing or written by another hash)."""
    con.execute(f"""create or replace table {TABLE} as
                    select hash(interaction_id) as id_hash, created_day from marts.fct_interactions""")
    con.execute(f"comment on table {TABLE} is '{_probe(con)}'")


def update(con: duckdb.DuckDBPyConnection, before: str, after: str) -> None:
    """An incremental refresh: the rows of the fact rows it deleted (``before``: their interaction_id and
    created_day as the fact table held them) replaced by those of the rows it inserted (``after``), where they
    differ: most of a nightly's scope keeps its day (open interactions recomputed, updates), so only the new
    interactions are inserted, and the table's hashes are read (to delete) only for a day that moved. A row of
    another interaction with the same hash and day is deleted too: its look-ups then fall back to the scan, and
    ``csqa check`` reports the missing row (interaction_lookup_matches_fact) until a full refresh rewrites the table
    (a 64-bit hash: about one warehouse of 10M interactions in a million holds such a pair)."""
    pairs = "select interaction_id, created_day from {}"
    # (a delete with nothing to delete costs ~3 ms at 10M: DuckDB skips the scan when the join's other side is empty)
    con.execute(f"""delete from {TABLE} as l
                    using (select hash(interaction_id) as id_hash, created_day
                           from ({pairs.format(before)} except {pairs.format(after)})) as g
                    where l.id_hash = g.id_hash and l.created_day = g.created_day""")
    con.execute(f"""insert into {TABLE} select hash(interaction_id), created_day
                    from ({pairs.format(after)} except {pairs.format(before)})""")


def refresh(con: duckdb.DuckDBPyConnection, *, full: bool, before: str, after: str) -> str:
    """Kept with the fact table; returns "rebuilt" or "updated"."""
    if full or not is_current(con):
        rebuild(con)
        return "rebuilt"
    update(con, before, after)
    return "updated"
