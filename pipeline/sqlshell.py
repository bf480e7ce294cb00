"""``csqa sql``: analysts' access to the newest published snapshot, read-only."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from .errors import EXIT_OK, UsageError
from .snapshots import reader_path
from .warehouse import connect


def _print(con: duckdb.DuckDBPyConnection, sql: str, csv: bool = False) -> None:
    rel = con.sql(sql)
    if rel is None:
        return
    if csv:
        rel.df().to_csv(sys.stdout, index=False)
    else:
        rel.show(max_width=200, max_rows=100)


def run_query(db: Path, sql: str, *, csv: bool = False) -> int:
    con = connect(reader_path(db), read_only=True)
    try:
        _print(con, sql, csv)
    except duckdb.Error as e:
        raise UsageError(f"the query failed: {e}", title="DuckDB refused the query.") from e
    finally:
        con.close()
    return EXIT_OK


def shell(db: Path) -> int:
    path = reader_path(db)
    con = connect(path, read_only=True)
    print(f"csqa sql: {path} (read-only). End statements with ';'. Ctrl-D to quit. Try: show all tables;")
    try:
        import readline  # noqa: F401  (line editing where available)
    except ImportError:  # pragma: no cover
        pass
    buf: list[str] = []
    try:
        while True:
            try:
                line = input("csqa> " if not buf else "  ...> ")
            except EOFError:
                print()
                break
            buf.append(line)
            if line.rstrip().endswith(";"):
                sql = "\n".join(buf)
                buf = []
                try:
                    _print(con, sql)
                except duckdb.Error as e:
                    print(f"error: {e}", file=sys.stderr)
    finally:
        con.close()
    return EXIT_OK
