"""The cost of ``marts.interaction_lookup`` (pipeline/model/lookup.py) on a warehouse, and a look-up through it.

    python benchmarks/bench_lookup.py --db <warehouse> [--scope 130000] [--new 100000] [--repeat 2]

In one transaction that is rolled back (the warehouse is left as it was; it must not be in use by a load):
1. the table written whole, as a full refresh (or the first one after an upgrade) writes it;
2. a nightly's update: ``--scope`` stored interactions sampled as the scope (their fact rows before and after,
   unchanged), plus ``--new`` new interactions; then again with about 50 of the scope's created days moved by a day;
3. with ``--alternatives``, the designs not taken, in the same transaction: a look-up of 5 sampled ids' days in the
   table as written (unsorted) and in a copy sorted by the hash (and the sort's time), and the fact row by the id
   alone without and with DuckDB's own index on ``interaction_id`` (and the index's build time). Read inside the
   transaction that wrote them, so a rough comparison of the designs, not the dashboard's figures.
Prints each time in seconds (look-ups: the median in ms). The look-ups through the table, as the dashboard makes them
on a published snapshot, are in ``bench_dashboard.py`` ("conversation (id alone: a typed link)", "… a link with
other days").
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import machine
from csqa.pipeline.config import load_config
from csqa.pipeline.model import lookup
from csqa.pipeline.model.warehouse import connect


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--scope", type=int, default=130_000)
    ap.add_argument("--new", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--alternatives", action="store_true", help="also time the designs not taken (step 3)")
    args = ap.parse_args()
    con = connect(args.db)
    con.execute(f"set memory_limit = '{load_config().warehouse.memory_limit}'")
    n = con.execute("select count(*) from marts.fct_interactions").fetchall()[0][0]
    print(f"machine: {machine()}; warehouse: {args.db} ({n:,} interactions)")
    con.execute("begin transaction")
    try:
        print(f"written whole                         {_timed(lambda: lookup.rebuild(con)):8.3f} s")
        for moved in (0, 50):
            for _ in range(args.repeat):
                con.execute(f"""create or replace temp table _before as select interaction_id, created_day
                                from marts.fct_interactions using sample {args.scope} rows""")
                con.execute(f"""create or replace temp table _after as
                                select interaction_id, created_day + case when random() < {moved} / {args.scope}
                                                                          then 1 else 0 end as created_day
                                from _before
                                union all select 'BENCH-NEW-' || range, date '2026-11-01' from range({args.new})""")
                secs = _timed(lambda: lookup.update(con, "_before", "_after"))
                print(f"nightly update, ~{moved:>2} days moved           {secs:8.3f} s")
                # undo the update (the next round samples the original table)
                lookup.rebuild(con)
        if args.alternatives:
            _alternatives(con)
    finally:
        con.execute("rollback")
        con.close()


def _median_ms(con, sql: str, ids: list) -> float:
    times = []
    for i in ids:
        t = time.perf_counter()
        con.execute(sql, [i]).fetchall()
        times.append(1000 * (time.perf_counter() - t))
    return statistics.median(times)


def _alternatives(con) -> None:
    ids = [r[0] for r in con.execute("select interaction_id from marts.fct_interactions using sample 5 rows")
           .fetchall()]
    day = "select created_day from {} where id_hash = hash(?)"
    print(f"an id's day, the table as written           {_median_ms(con, day.format(lookup.TABLE), ids):8.1f} ms")
    secs = _timed(lambda: con.execute(f"create table marts._bench_sorted as select * from {lookup.TABLE} "
                                      "order by id_hash"))
    print(f"sorted by the hash: the sort                {secs:8.3f} s")
    sorted_ms = _median_ms(con, day.format("marts._bench_sorted"), ids)
    print(f"an id's day, sorted by the hash             {sorted_ms:8.1f} ms")
    row = "select interaction_id from marts.fct_interactions where interaction_id = ?"
    print(f"the fact row by the id alone                {_median_ms(con, row, ids):8.1f} ms")
    secs = _timed(lambda: con.execute("create index _bench_id on marts.fct_interactions (interaction_id)"))
    print(f"DuckDB's index on interaction_id: built in  {secs:8.3f} s")
    print(f"the fact row by the id alone, indexed       {_median_ms(con, row, ids):8.1f} ms")


if __name__ == "__main__":
    main()
