"""The DuckDB warehouse: opening it, and applying the SQL migrations in ``sql/migrations``.

Migrations are applied in file-name order, each once, recorded in ``audit.schema_migrations``
with a checksum; a migration whose text changed after it was applied is refused (write a new one).
"""

from __future__ import annotations

import hashlib
import logging
import os
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import duckdb

from .errors import WarehouseError

log = logging.getLogger(__name__)

# The repository's top-level ``sql/`` folder is installed as the package ``csqa.sql`` (see pyproject.toml),
# so it is found the same way in a checkout (editable install) and in an installed wheel.
SQL_DIR: Traversable = files("csqa.sql")


def sql_files(folder: str) -> list[Traversable]:
    """The ``*.sql`` files in one folder of ``sql/`` (migrations, staging, marts, macros, tests), by name."""
    return sorted((f for f in (SQL_DIR / folder).iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)


def resolve_db_path(db: str | os.PathLike | None, config_path: str) -> Path:
    """--db, else $CSQA_DB, else the configured path (default data/csqa.duckdb)."""
    return Path(db or os.environ.get("CSQA_DB") or config_path)


def connect(path: str | os.PathLike, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseError(
            f"no warehouse at {path}; load data first: csqa load sample_data/",
            title="There is no warehouse yet.",
        )
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as e:
        msg = str(e)
        if "lock" in msg.lower():
            raise WarehouseError(
                f"{path} is in use by another process (a load is running?): {msg}",
                title="The warehouse is locked.",
            ) from e
        raise WarehouseError(f"cannot open {path}: {msg}") from e
    except duckdb.Error as e:
        raise WarehouseError(f"cannot open {path} as a DuckDB database: {e}") from e
    con.execute("set timezone = 'UTC'")
    return con


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
            con.execute("rollback")
            raise WarehouseError(f"migration {file.name} failed: {e}") from e
        log.info("applied migration %s", file.name)
        applied.append(file.name)
    return applied


def open_warehouse(path: str | os.PathLike, *, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    con = connect(path)
    try:
        if memory_limit:
            con.execute(f"set memory_limit = '{memory_limit}'")  # validated by config.Warehouse
        migrate(con)
    except Exception:
        con.close()
        raise
    return con


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("select coalesce(max(version), 0) from audit.schema_migrations").fetchall()[0][0]
