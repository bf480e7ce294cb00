"""``csqa status``: what the warehouse holds."""

from __future__ import annotations

from pathlib import Path

from ..errors import WarehouseError
from ..model.warehouse import connect, schema_version, table_exists


def status(db: Path, batches: int = 10) -> dict:
    con = connect(db, read_only=True)
    try:
        if not table_exists(con, "audit", "load_batches"):
            raise WarehouseError(f"{db} holds no csqa tables (an empty or another DuckDB file): load data first "
                                 "(csqa load FILES)", title="There is nothing to show yet.")
        tables = con.execute(
            """select table_schema || '.' || table_name, table_type
               from information_schema.tables
               where table_schema in ('raw', 'audit', 'staging', 'marts')
               order by 1"""
        ).fetchall()
        counts = {}
        for name, kind in tables:
            if kind == "BASE TABLE":
                counts[name] = con.execute(f"select count(*) from {name}").fetchall()[0][0]
        recent = con.execute(
            """select batch_id, source_file, entity, status, rows_read, rows_loaded,
                      rows_quarantined, rows_duplicate, finished_at, error
               from audit.load_batches order by batch_id desc, source_file limit ?""",
            [batches],
        ).fetchall()
        cols = ["batch_id", "source_file", "entity", "status", "rows_read", "rows_loaded",
                "rows_quarantined", "rows_duplicate", "finished_at", "error"]
        top_checks = con.execute(
            """select entity, column_name, check_name, count(*) as n from audit.quarantine
               group by all order by n desc limit 10"""
        ).fetchall()
        n_checks, n_quarantined = con.execute(
            """select count(*), coalesce(sum(n), 0) from (select count(*) as n from audit.quarantine group by
               entity, column_name, check_name)"""
        ).fetchall()[0]
        n_files = con.execute("select count(*) from audit.load_batches").fetchall()[0][0]
        last_good = con.execute(
            "select max(finished_at) from audit.load_batches where status = 'loaded'"
        ).fetchall()[0][0]
        return {
            "db": str(db),
            "schema_version": schema_version(con),
            "tables": counts,
            "last_good_load_at": last_good,
            "recent_batches": [dict(zip(cols, r, strict=True)) for r in recent],
            "batch_files": n_files,  # every file of every batch (recent_batches: the newest of them)
            "quarantine_checks": n_checks,  # the (entity, column, check) groups (quarantine_by_check: the largest)
            "quarantined_rows": n_quarantined,
            "quarantine_by_check": [
                {"entity": e, "column": c, "check": k, "rows": n} for e, c, k, n in top_checks
            ],
        }
    finally:
        con.close()


def render(info: dict) -> str:
    lines = [f"warehouse {info['db']} (schema version {info['schema_version']}), "
             f"last good load {info['last_good_load_at'] or 'never'}", "", "tables:"]
    lines += [f"  {name:<40} {n:>12,}" for name, n in info["tables"].items()]
    shown = len(info["recent_batches"])
    lines += ["", "recent batches:" if shown == info["batch_files"] else
              f"recent batches ({shown} of {info['batch_files']:,} files: the newest batch first, its files by "
              "name; csqa sql \"select * from audit.load_batches\" lists every one):"]
    for b in info["recent_batches"]:
        lines.append(
            f"  #{b['batch_id']:<4} {b['status']:<9} {Path(b['source_file']).name:<36} "
            f"{b['entity'] or '-':<13} read {b['rows_read']:>9,} loaded {b['rows_loaded']:>9,} "
            f"quarantined {b['rows_quarantined']:>7,} dup {b['rows_duplicate']:>7,}"
            + (f"  {b['error'][:80]}" if b["error"] else "")
        )
    if info["quarantine_by_check"]:
        shown = len(info["quarantine_by_check"])
        lines += ["", "quarantined rows by check:" if shown == info["quarantine_checks"] else
                  f"quarantined rows by check (the {shown} largest of {info['quarantine_checks']:,} checks; "
                  f"{info['quarantined_rows']:,} rows in all: csqa sql \"select entity, column_name, check_name, "
                  "count(*) from audit.quarantine group by all\" lists every one):"]
        lines += [f"  {q['entity']:<13} {q['column'] or '(record)':<28} {q['check']:<44} {q['rows']:>8,}"
                  for q in info["quarantine_by_check"]]
    return "\n".join(lines)
