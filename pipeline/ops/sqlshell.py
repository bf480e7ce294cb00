"""``csqa sql``: analysts' access to the newest published snapshot, read-only.

The session is opened by :func:`warehouse.connect_reader`: read-only, in the reporting time zone, no
host file reachable except an export folder the analyst names (``--export-dir``), no attaching of
other databases, no extensions, and the configuration locked so none of it can be switched back on.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import types
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ..errors import EXIT_OK, UsageError, WarehouseError
from ..model.warehouse import check_export_dir, connect_reader
from .snapshots import reader_path, stable_path

if TYPE_CHECKING:  # pandas is imported by DuckDB when a result is asked for as a frame: a query starts without it
    import pandas as pd

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


_INT_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
              "UBIGINT", "UHUGEINT"}


def keep_integers(df: pd.DataFrame, names: list[str], types: list) -> pd.DataFrame:
    """DuckDB hands ``sum()`` of integers over as HUGEINT, which pandas receives as float64 (``232.0``); an
    integer column stays integer here (nullable ``Int64`` when it holds NULLs)."""
    for name, typ in zip(names, types, strict=False):
        if str(typ) in _INT_TYPES and name in df and df[name].dtype.kind == "f":
            col = df[name]
            if col.isna().all() or col.abs().max() < 2**63:
                df[name] = col.astype("Int64")
    return df


class Result:
    """A DuckDB relation whose ``.df()`` keeps integer columns integer; everything else is DuckDB's own."""

    def __init__(self, rel: duckdb.DuckDBPyRelation) -> None:
        self._rel = rel

    def df(self, *a, **k) -> pd.DataFrame:
        return keep_integers(self._rel.df(*a, **k), self._rel.columns, self._rel.types)

    fetchdf = to_df = df

    def __getattr__(self, name):
        attr = getattr(self._rel, name)
        if not callable(attr):
            return attr

        def call(*a, **k):
            out = attr(*a, **k)
            return Result(out) if isinstance(out, duckdb.DuckDBPyRelation) else out
        return call

    def __repr__(self) -> str:
        return repr(self._rel)

    __str__ = __repr__


class Session:
    """What :func:`csqa.pipeline.connect` returns: a read-only DuckDB connection to the newest snapshot (see
    :func:`warehouse.connect_reader`) whose results keep integer columns integer. Any other method is the
    connection's own (``fetchall``, ``close``, ``description``, ...). Use it as a context manager."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path) -> None:
        self._con = con
        self.path = path

    def sql(self, query: str, *, params=None) -> Result | None:
        rel = self._con.sql(query, params=params)
        return None if rel is None else Result(rel)

    query = sql

    def execute(self, query: str, parameters=None) -> Session:
        self._con.execute(query, parameters)
        return self

    def df(self) -> pd.DataFrame:
        desc = self._con.description or []
        return keep_integers(self._con.df(), [d[0] for d in desc], [d[1] for d in desc])

    fetchdf = df

    def __getattr__(self, name):
        return getattr(self._con, name)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self._con.close()

    def __repr__(self) -> str:
        return f"<csqa read-only session on {self.path}>"


def open_session(db: str | Path | None = None, *, config: str | Path | None = None,
                 export_dir: str | Path | None = None) -> Session:
    """The documented way in from Python: see :func:`csqa.pipeline.connect`."""
    from ..config import load_config
    from ..model.warehouse import resolve_db_path

    db = Path(db) if db is not None else resolve_db_path(None, load_config(config).warehouse.path)
    folder = check_export_dir(export_dir, db) if export_dir else None
    path = reader_path(db)
    return Session(connect_reader(path, export_dir=folder), path)


def _print(con: duckdb.DuckDBPyConnection, sql: str, csv: bool = False) -> None:
    rel = con.sql(sql)
    if rel is None:
        return
    if csv:
        keep_integers(rel.df(), rel.columns, rel.types).to_csv(sys.stdout, index=False)
        return
    rel.show(max_width=MAX_WIDTH, max_rows=100)
    if len(rel.columns) > 1:
        width = sum(max(len(c), 8) + 3 for c in rel.columns)
        if width > MAX_WIDTH:
            print(f"({len(rel.columns)} columns: those that do not fit the table view are hidden. To see them, "
                  "select only the columns you need, or print every column with --csv (> result.csv))",
                  file=sys.stderr)


def _session(db: Path, export_dir: str | None, lake: Path | None = None
             ) -> tuple[duckdb.DuckDBPyConnection, Path | None]:
    if lake is not None:  # a Spark-built lake: DuckDB over its Parquet files (csqa sql --lake)
        from .lake import connect_lake

        folder = check_export_dir(export_dir, lake / "lake") if export_dir else None
        return connect_lake(lake, export_dir=folder), folder
    folder = check_export_dir(export_dir, db) if export_dir else None
    return connect_reader(reader_path(db), export_dir=folder), folder


def run_query(db: Path, sql: str, *, csv: bool = False, export_dir: str | None = None,
              lake: Path | None = None) -> int:
    con, folder = _session(db, export_dir, lake)
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
        raise WarehouseError(f"no warehouse at {db}; load data first: csqa load sample_data/",
                             title="There is no warehouse yet.")
    print(path.resolve(strict=False) if not path.is_symlink() else path.absolute())
    return EXIT_OK


def shell(db: Path, *, export_dir: str | None = None, lake: Path | None = None, stops: list[int] | None = None
          ) -> int:
    """The interactive session; Ctrl-D (end of input) quits. ``stops`` (given at a terminal): the stop signals the
    stop watcher noted (cli._watch_stops), which interrupts the session's connection on every Ctrl-C; Ctrl-C then
    cancels the running statement, or drops the statement being typed, and ``stops`` is emptied after it, so that a
    later SIGTERM is told apart. Without it (a script piped in), Ctrl-C ends the shell as it ends any command."""
    path = reader_path(db) if lake is None else Path(lake) / "marts"
    con, folder = _session(db, export_dir, lake)
    tz = con.execute("select current_setting('TimeZone')").fetchall()[0][0]
    print(f"csqa sql: {path} (read-only, time zone {tz}). End statements with ';'. "
          + ("Ctrl-C cancels a statement, " if stops is not None else "") + "Ctrl-D quits. Try: show all tables;")
    try:
        import readline  # noqa: F401  (line editing where available)
    except ImportError:  # pragma: no cover
        pass
    buf: list[str] = []
    try:
        with _ctrl_c(stops is not None) as ctrl_c:
            while True:
                try:
                    ctrl_c.reading = True
                    line = input("csqa> " if not buf else "  ...> ")
                except EOFError:
                    print()
                    break
                except KeyboardInterrupt:  # Ctrl-C while typing: the statement so far is dropped
                    if stops is None:
                        raise
                    print()
                    buf = []
                    stops.clear()
                    continue
                finally:
                    ctrl_c.reading = False
                buf.append(line)
                if not line.rstrip().endswith(";"):
                    continue
                sql = "\n".join(buf)
                buf, ctrl_c.pressed = [], False
                if stops is not None:
                    stops.clear()
                interrupted = False
                try:
                    _print(con, sql)
                except (duckdb.InterruptException, RuntimeError):  # RuntimeError: DuckDB's "Query interrupted"
                    if not _cancelled(ctrl_c, stops):  # a stop (SIGTERM), a script's Ctrl-C, or a bug
                        raise
                    interrupted = True
                except duckdb.Error as e:
                    print(f"error: {_refused(e, folder)}", file=sys.stderr)
                if _cancelled(ctrl_c, stops):
                    if interrupted:  # (a Ctrl-C once the result was complete, while it printed, cancels nothing)
                        print("cancelled (Ctrl-C)", file=sys.stderr)
                    stops.clear()
    finally:
        con.close()
    return EXIT_OK


def _cancelled(ctrl_c, stops: list[int] | None) -> bool:
    """Whether a Ctrl-C cancelled the statement (never when a SIGTERM came too: that ends the shell)."""
    return stops is not None and signal.SIGTERM not in stops and (ctrl_c.pressed or signal.SIGINT in stops)


@contextlib.contextmanager
def _ctrl_c(cancels: bool):
    """While the shell runs at a terminal (``cancels``), Ctrl-C raises KeyboardInterrupt only while it waits for
    input; during a statement it is only noted (``pressed``, when the handler runs: Python runs it between DuckDB's
    tasks, or after the statement): the watcher interrupts the statement, which ends with DuckDB's error, and an
    exception raised in the middle of printing a result would end the shell instead. The handler before it
    otherwise (csqa's own: Ctrl-C ends the command), or where SIGINT cannot be handled here (off the main thread) or
    is ignored (a shell started in the background)."""
    state = types.SimpleNamespace(reading=False, pressed=False)

    def handler(signum, frame):
        state.pressed = True
        if state.reading:
            raise KeyboardInterrupt

    ours = (cancels and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN)
    previous = signal.signal(signal.SIGINT, handler) if ours else None
    try:
        yield state
    finally:
        if ours:
            signal.signal(signal.SIGINT, previous)
