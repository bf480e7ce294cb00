"""What writing the rows costs, on a copy of a loaded warehouse (the floors of P1's "what stands in the way"):

    python benchmarks/bench_write_floor.py --db /tmp/p1f-after/wh-load/csqa.duckdb

1. the first checkpoint after reopening the warehouse (a one-row table created first): the seconds and how many of
   the fact table's blocks it rewrote (part-filled row groups that DuckDB's checkpoint merges);
2. inside one transaction, as a load writes: a copy of the fact table into a new table (all columns; without the
   free-text ones), into a temporary table (no compression), and a copy of the raw interactions; wall and CPU.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import duckdb


def timed(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[float, float]:
    t, c = time.perf_counter(), time.process_time()
    con.execute(sql)
    return time.perf_counter() - t, time.process_time() - c


def blocks(con: duckdb.DuckDBPyConnection) -> set:
    return {b for (b,) in con.execute("select distinct block_id from pragma_storage_info('marts.fct_interactions') "
                                      "where block_id is not null").fetchall()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True, help="a loaded warehouse (not modified: a copy is used)")
    ap.add_argument("--memory-limit", default="768MB")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "w.duckdb"
        shutil.copy(args.db, work)
        con = duckdb.connect(str(work))
        con.execute(f"set memory_limit = '{args.memory_limit}'")
        layout = con.execute("select list(n) from (select row_group_id, max(count) as n from "
                             "pragma_storage_info('marts.fct_interactions') where column_id = 0 group by 1 order by 1)"
                             ).fetchall()[0][0]
        print(f"fact table row groups: {layout}")
        before = blocks(con)
        con.execute("create table main._one as select 1 as x")
        wall, cpu = timed(con, "checkpoint")
        after = blocks(con)
        print(f"first checkpoint after reopening: wall {wall:5.2f} s  CPU {cpu:5.2f} s  "
              f"fact table blocks rewritten {len(after - before)} of {len(before)}")
        con.execute("begin transaction")
        for label, sql in [
            ("fact table -> new table", "create table marts._c1 as select * from marts.fct_interactions"),
            ("the same without subject, first_message",
             "create table marts._c2 as select * exclude (subject, first_message) from marts.fct_interactions"),
            ("fact table -> temporary table", "create temp table _c3 as select * from marts.fct_interactions"),
            ("raw interactions -> new table", "create table marts._c4 as select * from raw.interactions"),
        ]:
            wall, cpu = timed(con, sql)
            print(f"{label:<42} wall {wall:5.2f} s  CPU {cpu:5.2f} s")
        con.execute("rollback")
        con.close()


if __name__ == "__main__":
    main()
