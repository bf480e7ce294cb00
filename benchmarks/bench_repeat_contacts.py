"""faq_coverage in a nightly batch: its repeat contacts kept by the batch's change against the full window query.

    python benchmarks/bench_repeat_contacts.py --db <warehouse> --batch <interactions.csv> [--repeat 3]

Copies the warehouse (its key too) beside itself (``<db>.bench``, removed after), loads the batch into the copy
and, inside that load's refresh, when faq_coverage is due: times the update of ``staging.faq_single_contacts``
(pipeline/model/repeat_contacts.py) plus the mart read from it, then ``--repeat`` times each, alternately, the mart
as sql/marts/30_faq_coverage.sql computes it in a full refresh (a window function over every contact of the window)
and the mart from the kept rows, and checks that the two give the same rows (EXCEPT ALL both ways).
Use a warehouse built by this code (e.g. bench_growth.py's wh-base-<n> after one nightly); after a change to sql/
the load rebuilds everything and there is nothing to compare.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--batch", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from csqa.pipeline.cli import main as cli
    from csqa.pipeline.model import repeat_contacts

    work = args.db.with_name(args.db.name + ".bench")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    db = work / "csqa.duckdb"
    shutil.copyfile(args.db, db)
    shutil.copyfile(args.db.with_name(args.db.name + ".key"), db.with_name("csqa.duckdb.key"))
    real = repeat_contacts.refresh

    def timed(con, sql):
        t = time.perf_counter()
        con.execute(sql)
        return time.perf_counter() - t

    def refresh(con, sql, *, full):
        t = time.perf_counter()
        kept_sql, how = real(con, sql, full=full)
        update = time.perf_counter() - t
        mart = timed(con, f"create or replace temp table _kept as {kept_sql}")
        print(f"faq_coverage, kept rows {how}: update {update:.3f} s + mart {mart:.3f} s = {update + mart:.3f} s")
        for i in range(args.repeat):
            whole = timed(con, f"create or replace temp table _whole as {sql}")
            kept = timed(con, f"create or replace temp table _kept as {kept_sql}")
            print(f"  {i + 1}: full window query {whole:.3f} s, mart from the kept rows {kept:.3f} s")
        differ = sum(con.execute(f"select count(*) from (select * from {a} except all select * from {b})")
                     .fetchall()[0][0] for a, b in (("_kept", "_whole"), ("_whole", "_kept")))
        print(f"  rows that differ between the two: {differ}")
        con.execute("drop table _kept")
        con.execute("drop table _whole")
        return kept_sql, how

    repeat_contacts.refresh = refresh
    sys.argv = ["csqa", "load", str(args.batch), "--db", str(db)]
    try:
        cli()
    except SystemExit as e:
        if e.code not in (0, None):
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
