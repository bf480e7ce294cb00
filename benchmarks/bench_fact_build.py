"""The fact table's first build alone, as a load runs it: on a copy of a loaded warehouse, inside one transaction
with the raw interactions rewritten in it (a load's are uncommitted when the marts refresh), at the configured
memory limit.

    python benchmarks/bench_fact_build.py --db /tmp/p1bench/wh-load/csqa.duckdb [--repeat 2] [--checkpoint]
        [--memory-limit 768MB,4GB] [--slice-rows 245760,122880] [--set "enable_optimistic_write = false" ...]

Prints wall and CPU seconds, and what DuckDB spilled to disk (of the last statement: with slices, the last one).
--memory-limit: one or more limits (comma-separated, taken in turn in each round; default: the configured one).
--slice-rows: one or more slice sizes of the full build, taken in turn likewise (default: marts._SLICE_ROWS).
--set: a DuckDB setting for the build's connection (repeatable), e.g. to try one of DuckDB's write knobs.
--checkpoint commits instead of rolling back and times the checkpoint that follows (what closing the warehouse
costs a load: the rewritten raw rows and the new table, and any row groups the checkpoint rewrites).
The SQL is the installed csqa's (sql/staging, then sql/marts/01_fct_interactions.sql in its write order, in slices of
created_at where that csqa builds it so: marts._build_in_slices); run a different tree through PYTHONPATH to compare.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from csqa.pipeline.config import load_config
from csqa.pipeline.model import marts
from csqa.pipeline.model.warehouse import sql_files


def build_once(db: Path, memory_limit: str, checkpoint: bool = False, slice_rows: int | None = None,
               settings: tuple[str, ...] = ()) -> dict:
    if slice_rows is not None:
        marts._SLICE_ROWS = slice_rows
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "w.duckdb"
        shutil.copy(db, work)
        con = duckdb.connect(str(work))
        con.execute(f"set memory_limit = '{memory_limit}'")
        for setting in settings:
            con.execute(f"set {setting}")
        con.execute("begin transaction")
        con.execute("create temp table _raw as select * from raw.interactions")
        con.execute("delete from raw.interactions")
        con.execute("insert into raw.interactions select * from _raw")
        con.execute("drop table _raw")
        con.execute("create or replace table staging.refresh_interactions as "
                    "select interaction_id from raw.interactions")
        for f in sql_files("staging"):
            con.execute(f.read_text(encoding="utf-8"))
        name, _mode, _key, sql = next(m for m in marts.mart_models() if m[0] == "fct_interactions")
        rows = con.execute("select count(*) from raw.interactions").fetchall()[0][0]
        sliced = hasattr(marts, "_build_in_slices") and rows > marts._SLICE_ROWS  # as the load builds it
        prof = Path(tmp) / "profile.json"
        con.execute("pragma enable_profiling = 'json'")
        con.execute(f"pragma profiling_output = '{prof}'")
        t, c = time.perf_counter(), time.process_time()
        if sliced:
            marts._build_in_slices(con, "marts._fct_bench", sql, marts._WRITE_ORDER[name])
        else:
            con.execute(f"create or replace table marts._fct_bench as select * from ({sql}) "
                        f"order by {marts._WRITE_ORDER[name]}")
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        con.execute("pragma disable_profiling")
        rows = con.execute("select count(*) from marts._fct_bench").fetchall()[0][0]
        ckpt_wall = ckpt_cpu = None
        if checkpoint:
            con.execute("commit")
            t, c = time.perf_counter(), time.process_time()
            con.execute("checkpoint")
            ckpt_wall, ckpt_cpu = time.perf_counter() - t, time.process_time() - c
        else:
            con.execute("rollback")
        con.close()
        system = json.loads(prof.read_text()).get("system", {})
    return {"rows": rows, "wall": wall, "cpu": cpu, "spilled_mib": system.get("total_bytes_spilled", 0) / 2**20,
            "peak_temp_mib": system.get("peak_temp_dir_size", 0) / 2**20, "ckpt_wall": ckpt_wall,
            "ckpt_cpu": ckpt_cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True, help="a loaded warehouse (not modified: a copy is used)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--checkpoint", action="store_true", help="commit, and time the checkpoint after the build")
    ap.add_argument("--slice-rows", help="slice sizes of the full build to take in turn, e.g. 245760,122880")
    ap.add_argument("--set", action="append", default=[], metavar="SETTING",
                    help="a DuckDB setting for the build, e.g. 'preserve_insertion_order = false' (repeatable)")
    ap.add_argument("--memory-limit", help="DuckDB memory limits to take in turn, e.g. 768MB,4GB (default: the "
                                           "configured one)")
    args = ap.parse_args()
    limits = args.memory_limit.split(",") if args.memory_limit else [load_config(None).warehouse.memory_limit]
    sizes = [int(x) for x in args.slice_rows.split(",")] if args.slice_rows else [marts._SLICE_ROWS]
    for i in range(args.repeat):
        for limit, size in itertools.product(limits, sizes):
            r = build_once(args.db, limit, args.checkpoint, size, tuple(args.set))
            ckpt = (f"  checkpoint wall {r['ckpt_wall']:5.2f} s  CPU {r['ckpt_cpu']:5.2f} s"
                    if r["ckpt_wall"] is not None else "")
            print(f"run {i + 1}: {r['rows']:,} rows  wall {r['wall']:6.2f} s  CPU {r['cpu']:6.2f} s  "
                  f"spilled {r['spilled_mib']:6,.0f} MiB  peak temp dir {r['peak_temp_mib']:5,.0f} MiB  "
                  f"(limit {limit}, slices of {size:,}" + "".join(f"; {s}" for s in args.set) + ")" + ckpt)


if __name__ == "__main__":
    main()
