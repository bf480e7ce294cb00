"""The DuckDB warehouse: opening it, and applying the SQL migrations in ``sql/migrations``.

Migrations are applied in file-name order, each once, recorded in ``audit.schema_migrations``
with a checksum; a migration whose text changed after it was applied is refused (write a new one).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import weakref
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from ..errors import Locked, UsageError, WarehouseError

log = logging.getLogger(__name__)

# The repository's top-level ``sql/`` folder is installed as the package ``csqa.sql`` (see pyproject.toml),
# so it is found the same way in a checkout (editable install) and in an installed wheel.
SQL_DIR: Traversable = files("csqa.sql")


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether ``schema.table`` exists in ``con``'s database (a table or a view)."""
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()[0][0])


def sql_files(folder: str) -> list[Traversable]:
    """The ``*.sql`` files in one folder of ``sql/`` (migrations, staging, marts, macros, tests), by name."""
    return sorted((f for f in (SQL_DIR / folder).iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)


def resolve_db_path(db: str | os.PathLike | None, config_path: str) -> Path:
    """--db, else $CSQA_DB, else the configured path (default data/csqa.duckdb)."""
    return Path(db or os.environ.get("CSQA_DB") or config_path)


def lock_path(db: str | os.PathLike) -> Path:
    return Path(db).with_name(Path(db).name + ".lock")


_held: dict[Path, int] = {}  # lock files this process holds, and how deeply


@contextlib.contextmanager
def writer_lock(db: str | os.PathLike):
    """The one lock every writer (``csqa load``, ``csqa nightly``) takes: ``flock`` on ``<db>.lock``.
    When another process holds it, raise :class:`Locked` at once, before anything is touched.
    Re-entrant within a process (``csqa nightly`` holds it around its load)."""
    path = lock_path(db).resolve()
    if _held.get(path):
        _held[path] += 1
        try:
            yield path
        finally:
            _held[path] -= 1
        return
    _check_is_duckdb(Path(db))  # (before the lock file is made beside a file that is no warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = path.open("a+")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as e:
        fh.seek(0)
        pid = fh.read().strip()
        fh.close()
        raise Locked(
            f"{lock_path(db)} is held by another csqa writer{f' (PID {pid})' if pid.isdigit() else ''}: "
            "csqa load, nightly and refresh never write at the same time; this run exits without touching anything"
        ) from e
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        _held[path] = 1
        yield path
    finally:
        _held.pop(path, None)
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


# the connections this process opened (connect, connect_reader, the lake's and the dry run's sessions): a stop
# request, or Ctrl-C, interrupts their statements
_INTERRUPTIBLE: weakref.WeakSet = weakref.WeakSet()


def interruptible(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """``con``, among the connections ``interrupt_statements`` interrupts."""
    _INTERRUPTIBLE.add(con)
    return con


def interrupt_statements() -> None:
    """End the statement each open connection is running (a stop request or Ctrl-C: cli._watch_stops, cli._stop).
    DuckDB 2.0 often sees a signal only when the running statement ends (one slice of a 10M build runs for seconds
    to minutes), unless the connection is interrupted; it then raises at once, and stays usable (for the rollback,
    or the sql shell's next statement). An idle connection's next statement is not affected. Safe from any
    thread."""
    for ref in list(_INTERRUPTIBLE.data):  # one step under the GIL: the main thread may add a connection meanwhile
        con = ref()
        if con is not None:
            with contextlib.suppress(duckdb.Error):  # closed since
                con.interrupt()


def connect(path: str | os.PathLike, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseError(
            f"no warehouse at {path}; load data first: csqa load sample_data/",
            title="There is no warehouse yet.",
        )
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(path, read_only=read_only)
    con.execute("set timezone = 'UTC'")
    return interruptible(con)


def _open(path: Path, *, read_only: bool, config: dict | None = None) -> duckdb.DuckDBPyConnection:
    _check_is_duckdb(path)
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config or {})
    except duckdb.IOException as e:
        msg = str(e)
        if "lock" in msg.lower():
            raise WarehouseError(_lock_message(path, msg, read_only), title="The warehouse is locked.") from e
        raise WarehouseError(f"cannot open {path}: {msg}") from e
    except duckdb.Error as e:
        raise WarehouseError(f"cannot open {path} as a DuckDB database: {e}") from e


def _check_is_duckdb(path: Path) -> None:
    """Refuse an existing file that is not a DuckDB database: DuckDB 2 opens a CSV, Parquet or JSON file as a
    read-only database of one table, so a load given ``--db export.csv`` reported rows loaded into it, stored
    nothing and left a key and snapshots beside it. A DuckDB file carries ``DUCK`` at byte 8; an empty file is
    left to DuckDB (it makes a new database there)."""
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(12)
    except OSError:  # none there (a new database), a folder, no permission: DuckDB's own error follows
        return
    if head and head[8:12] != b"DUCK":
        raise WarehouseError(
            f"{path} is not a DuckDB database (a warehouse file starts with DuckDB's header; this one does not: "
            "an export, or another program's file?). Name a new file or an existing warehouse with --db, "
            "e.g. --db data/csqa.duckdb; nothing was written.",
            title="That file is not a warehouse.")


def _lock_message(path: Path, msg: str, read_only: bool) -> str:
    """Say what holds the file: a reader (read-only handles share the file with each other but block a
    writer) or a writer, with the PID DuckDB reports, and where readers should go instead."""
    m = re.search(r"held in (.+?) \(PID (\d+)\)", msg)
    who = f"PID {m.group(2)} ({m.group(1)})" if m else "another process"
    holder = "a writer (a load, or a read-write session)"
    if not read_only:
        try:  # a read-only open succeeds only when every holder is a reader
            duckdb.connect(str(path), read_only=True).close()
            holder = "a reader (a read-only session on the main warehouse file)"
        except duckdb.Error:
            pass
    return (
        f"{path} is held by {holder}: {who}. Readers must not open the main warehouse file: they open the "
        f"published snapshot instead (`csqa sql`, `csqa sql --print-path`, or `from csqa.pipeline import connect`), "
        f"which never blocks a load. Stop that process (`fuser {path}` lists it) and run again. DuckDB said: {msg}"
    )


# A reader's session: the snapshot read-only, no extension loading, no file outside an export folder,
# and the configuration locked so a query cannot switch any of it back on.
READER_CONFIG = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
}


def check_export_dir(export_dir: str | os.PathLike, db: str | os.PathLike) -> Path:
    """The folder an analyst may write query results into; never one holding the warehouse, its key
    or its snapshots."""
    folder = Path(export_dir).expanduser().resolve()
    if not folder.is_dir():
        raise UsageError(f"--export-dir {export_dir}: no such folder (create it first)")
    home = Path(db).resolve().parent
    if home == folder or folder in home.parents:
        raise UsageError(
            f"--export-dir {export_dir} holds the warehouse folder {home} (its key and snapshots); "
            "name a folder of its own, e.g. ~/csqa-exports"
        )
    return folder


def connect_reader(
    path: str | os.PathLike, *, export_dir: Path | None = None, timezone: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A read-only session for people and the dashboard. ``timezone``: the session's zone (default: the
    reporting zone the marts were built in, from ``staging.settings``). Writing, reading host files,
    attaching other databases and installing or loading extensions are refused; ``export_dir`` (already
    checked with :func:`check_export_dir`) is the one folder COPY / EXPORT may write to."""
    path = Path(path)
    if not path.exists():
        raise WarehouseError(
            f"no warehouse at {path}; load data first: csqa load sample_data/",
            title="There is no warehouse yet.",
        )
    con = interruptible(_open(path, read_only=True, config=READER_CONFIG))
    try:
        lock_down(con, timezone or _reporting_timezone(con), [] if export_dir is None else [export_dir])
    except BaseException:
        con.close()
        raise
    return con


def lock_down(con: duckdb.DuckDBPyConnection, tz: str, folders: list) -> None:
    """The last steps of every reading session (the warehouse's and the lake's): its time zone (checked to be
    a zone name), the only folders it may reach, then no host file, no extension and no more settings."""
    try:
        ZoneInfo(tz)
    except (ValueError, ZoneInfoNotFoundError) as e:
        raise WarehouseError(f"unknown time zone {tz!r}") from e
    con.execute(f"set timezone = '{tz}'")  # checked above: a zone name, no quote
    if folders:
        con.execute("set allowed_directories = ?", [[str(f).rstrip("/") + "/" for f in folders]])
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")


def _reporting_timezone(con: duckdb.DuckDBPyConnection) -> str:
    try:
        rows = con.execute("select reporting_timezone from staging.settings").fetchall()
    except duckdb.Error:  # a warehouse without marts yet
        return "UTC"
    return rows[0][0] if rows and rows[0][0] else "UTC"


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations; return the names applied."""
    con.execute("create schema if not exists audit")
    con.execute(
        """create table if not exists audit.schema_migrations (
               version integer primary key, name varchar not null,
               checksum varchar not null, applied_at timestamptz not null default now())"""
    )
    done = {v: (n, c) for v, n, c in con.execute(
        "select version, name, checksum from audit.schema_migrations").fetchall()}
    applied = []
    for file in sql_files("migrations"):
        version = int(file.name.split("_", 1)[0])
        text = file.read_text(encoding="utf-8")
        checksum = hashlib.sha256(text.encode()).hexdigest()
        if version in done:
            if done[version][1] != checksum:
                raise WarehouseError(
                    f"migration {file.name} changed after it was applied; add a new migration instead"
                )
            continue
        try:
            con.execute("begin transaction")
            con.execute(text)
            con.execute(
                "insert into audit.schema_migrations (version, name, checksum) values (?, ?, ?)",
                [version, file.name, checksum],
            )
            con.execute("commit")
        except duckdb.Error as e:
            with contextlib.suppress(duckdb.Error):  # a failed commit has already ended the transaction
                con.execute("rollback")
            raise WarehouseError(f"migration {file.name} failed: {e}") from e
        log.info("applied migration %s", file.name)
        applied.append(file.name)
    return applied


def memory_hint(e: BaseException, memory_limit: str | None) -> str:
    """What to say after DuckDB's out-of-memory error: the setting that governs it."""
    if not isinstance(e, duckdb.OutOfMemoryException) and not re.search(
            r"Out of Memory|could not allocate|failed to (pin|allocate)", str(e)):
        return ""
    return (f"\n(csqa: DuckDB ran out of its memory limit, warehouse.memory_limit = {memory_limit!r}; raise it in "
            "the configuration on a machine with memory to spare, or load fewer files per batch)")


def open_warehouse(path: str | os.PathLike, *, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    return prepare(connect(path), str(path), memory_limit)


def prepare(con: duckdb.DuckDBPyConnection, name: str, memory_limit: str | None) -> duckdb.DuckDBPyConnection:
    """``con`` under ``memory_limit``, its migrations applied (``name`` says which warehouse in an error); closed
    when that fails, and the failure a warehouse error, with the memory hint when DuckDB ran out."""
    try:
        if memory_limit:
            con.execute(f"set memory_limit = '{memory_limit}'")  # validated by config.Warehouse
        migrate(con)
    except duckdb.Error as e:  # e.g. out of memory while migrating: a warehouse error, never a traceback
        con.close()
        raise WarehouseError(f"cannot prepare {name}: {e}" + memory_hint(e, memory_limit)) from e
    except WarehouseError as e:  # a migration's own error, said of this warehouse
        con.close()
        raise WarehouseError(f"cannot prepare {name}: {e}" + memory_hint(e, memory_limit), title=e.title) \
            from e.__cause__
    except Exception:
        con.close()
        raise
    return con


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("select coalesce(max(version), 0) from audit.schema_migrations").fetchall()[0][0]
