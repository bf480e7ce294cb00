"""``csqa sql``: analysts' access to the newest published snapshot, read-only.

The session is opened by :func:`warehouse.connect_reader`: read-only, in the reporting time zone, no
host file reachable except an export folder the analyst names (``--export-dir``), no attaching of
other databases, no extensions, and the configuration locked so none of it can be switched back on.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pandas as pd

from .errors import EXIT_OK, UsageError
from .snapshots import reader_path, stable_path
from .warehouse import check_export_dir, connect_reader

MAX_WIDTH = 200


def _hint(e: duckdb.Error, export_dir: Path | None) -> str:
    """What to do instead, for the refusals a read-only session gives."""
    msg = str(e)
    if isinstance(e, duckdb.PermissionException) or "disabled by configuration" in msg:
        where = f"only into {export_dir}" if export_dir else "nowhere (name a folder with --export-dir DIR)"
        return (f"csqa sql reaches no file on this machine except the snapshot; COPY / EXPORT may write "
                f"{where}; for a CSV of a result use --csv > file.csv")
    if "configuration has been locked" in msg:
        return "csqa sql's settings (read-only, file access, time zone) are locked for this session"
    if "read-only mode" in msg:
        return ("csqa sql is read-only: only csqa load / csqa nightly write the warehouse; "
                "temporary tables (create temp table ...) are allowed")
    return ""


def _refused(e: duckdb.Error, export_dir: Path | None) -> UsageError:
    hint = _hint(e, export_dir)
    return UsageError(f"the query failed: {e}" + (f"\n{hint}" if hint else ""), title="DuckDB refused the query.")


def _integers(df: pd.DataFrame, rel: duckdb.DuckDBPyRelation) -> pd.DataFrame:
    """Integer columns with NULLs come out of DuckDB as float64 (``232.0``); make them nullable ints."""
    for name, typ in zip(rel.columns, rel.types, strict=True):
        if str(typ) in _INT_TYPES and name in df and df[name].dtype.kind == "f":
            df[name] = df[name].astype("Int64")
    return df


_INT_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
              "HUGEINT"}


def _print(con: duckdb.DuckDBPyConnection, sql: str, csv: bool = False) -> None:
    rel = con.sql(sql)
    if rel is None:
        return
    if csv:
        _integers(rel.df(), rel).to_csv(sys.stdout, index=False)
        return
    rel.show(max_width=MAX_WIDTH, max_rows=100)
    if len(rel.columns) > 1:
        width = sum(max(len(c), 8) + 3 for c in rel.columns)
        if width > MAX_WIDTH:
            print(f"({len(rel.columns)} columns; columns that do not fit are hidden: name the ones you need, "
                  "or use --csv, or .columns of the result in Python)", file=sys.stderr)


def _session(db: Path, export_dir: str | None) -> tuple[duckdb.DuckDBPyConnection, Path | None]:
    folder = check_export_dir(export_dir, db) if export_dir else None
    return connect_reader(reader_path(db), export_dir=folder), folder


def run_query(db: Path, sql: str, *, csv: bool = False, export_dir: str | None = None) -> int:
    con, folder = _session(db, export_dir)
    try:
        _print(con, sql, csv)
    except duckdb.Error as e:
        raise _refused(e, folder) from e
    finally:
        con.close()
    return EXIT_OK


def print_path(db: Path) -> int:
    """The path analysts' tools should open (read-only): it always names the newest complete snapshot."""
    path = stable_path(db)
    if not path.exists():
        path = reader_path(db)
    if not path.exists():
        raise UsageError(f"no warehouse at {db}; load data first: csqa load sample_data/")
    print(path.resolve(strict=False) if not path.is_symlink() else path.absolute())
    return EXIT_OK


def shell(db: Path, *, export_dir: str | None = None) -> int:
    path = reader_path(db)
    con, folder = _session(db, export_dir)
    tz = con.execute("select current_setting('TimeZone')").fetchall()[0][0]
    print(f"csqa sql: {path} (read-only, time zone {tz}). End statements with ';'. Ctrl-D to quit. "
          "Try: show all tables;")
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
                    print(f"error: {_refused(e, folder)}", file=sys.stderr)
    finally:
        con.close()
    return EXIT_OK
