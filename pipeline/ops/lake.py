"""The Parquet lake seen from DuckDB: a read-only session over a Spark-built lake, and ``csqa export --lake``.

:func:`connect_lake` is what ``csqa sql --lake DIR`` and ``csqa dashboard --lake DIR`` open: an in-memory
DuckDB session with the schemas analysts know (``raw``, ``audit``, ``staging``, ``marts``) as views over the
lake's Parquet files, locked down like :func:`csqa.pipeline.model.warehouse.connect_reader` (no extensions,
no attaching, no file outside the lake and an export folder, configuration locked), in the reporting time
zone the marts were built in. It needs neither pyspark nor Java.

:func:`export_lake` moves a DuckDB warehouse's raw layer (with its load audit, quarantine and pseudonym key)
into the lake layout ``csqa spark load`` writes, so ``csqa spark refresh`` and later ``csqa spark load``
runs take over from there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from ..errors import UsageError, WarehouseError
from ..ingest.contract import MODELS
from ..ingest.privacy import key_fingerprint, key_path
from ..model.warehouse import READER_CONFIG, connect_reader, interruptible, lock_down, table_exists

# the day a raw row is filed under in the lake (csqa spark load and csqa export --lake)
PARTITION_BY = {
    "interactions": "created_at",
    "messages": "sent_at",
    "csat_surveys": "sent_at",
    "faq_articles": "updated_at",
}


def _files(folder: Path) -> str | None:
    """A read_parquet glob for a table folder (hive partitions or flat), or None when it holds no file."""
    if not folder.is_dir() or not any(folder.rglob("*.parquet")):
        return None
    return str(folder / "**" / "*.parquet")


def fingerprint_path(lake: str | os.PathLike) -> Path:
    """Where a lake keeps its pseudonym key's fingerprint (the warehouse's ``audit.pseudonym_key``)."""
    return Path(lake) / "audit" / "pseudonym_key.parquet"


def lake_fingerprint(lake: str | os.PathLike) -> str | None:
    """The fingerprint of the key the lake's customer ids were made with; None before its first batch."""
    path = fingerprint_path(lake)
    if not path.is_file():
        return None
    rows = duckdb.sql(f"select fingerprint from read_parquet('{path}') limit 1").fetchall()
    return rows[0][0] if rows else None


def write_fingerprint(lake: str | os.PathLike, fingerprint: str) -> None:
    """Keep ``fingerprint`` as the lake's (written whole, then renamed into place)."""
    import pandas as pd

    path = fingerprint_path(lake)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame = pd.DataFrame({"fingerprint": [fingerprint], "recorded_at": [pd.Timestamp.now(tz="UTC")]})
    frame["recorded_at"] = frame["recorded_at"].astype("datetime64[us, UTC]")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)


def lake_views(lake: Path) -> dict[str, str]:
    """``schema.table`` -> the SQL of its view over the lake, for every table the lake holds."""
    views = {}
    for entity in MODELS:
        glob = _files(lake / "raw" / entity)
        if glob:
            views[f"raw.{entity}"] = (f"select * exclude (created_day) from read_parquet('{glob}', "
                                      "hive_partitioning = true)")
    glob = _files(lake / "audit" / "load_batches")
    if glob:
        # by name, each column's type unified over the files (a lake written before 2026-11-28 holds files whose
        # all-null error or notes column has Parquet's null type)
        views["audit.load_batches"] = f"select * from read_parquet('{glob}', union_by_name = true)"
    if fingerprint_path(lake).is_file():
        views["audit.pseudonym_key"] = f"select * from read_parquet('{fingerprint_path(lake)}')"
    glob = _files(lake / "quarantine")
    if glob:
        views["audit.quarantine"] = (f"select batch_id, * exclude (batch_id) from read_parquet('{glob}', "
                                     "hive_partitioning = true, hive_types = {'batch_id': bigint})")
    for layer in ("staging", "marts"):
        folder = lake / layer
        for table in sorted(p for p in folder.iterdir() if p.is_dir() and "." not in p.name) \
                if folder.is_dir() else []:
            glob = _files(table)
            if glob:
                views[f"{layer}.{table.name}"] = f"select * from read_parquet('{glob}')"
    return views


def connect_lake(lake: str | os.PathLike, *, export_dir: Path | None = None,
                 timezone: str | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only-in-spirit DuckDB session over a lake's Parquet files (see the module docstring).

    The lake's folders are the only ones the session can reach besides ``export_dir``; DuckDB's
    ``allowed_directories`` does not tell reading from writing, so protect the lake with file permissions
    where readers must not write (docs/SCALE.md)."""
    lake = Path(lake).resolve()
    if not (lake / "marts").is_dir():
        raise WarehouseError(f"no marts in the lake {lake}: build them with csqa spark refresh --lake {lake}",
                             title="The lake has no marts yet.")
    if export_dir is not None and (export_dir.resolve() == lake or lake in export_dir.resolve().parents):
        raise UsageError(f"--export-dir {export_dir} is inside the lake: choose a folder outside {lake}")
    con = interruptible(duckdb.connect(":memory:", config=READER_CONFIG))  # Ctrl-C ends its statements
    try:
        views = lake_views(lake)
        for schema in ("raw", "audit", "staging", "marts"):
            con.execute(f"create schema {schema}")
        for name, sql in views.items():
            con.execute(f"create view {name} as {sql}")
        tz = timezone or "UTC"
        if timezone is None and "staging.settings" in views:
            rows = con.execute("select reporting_timezone from staging.settings").fetchall()
            tz = rows[0][0] if rows and rows[0][0] else "UTC"
        folders = [lake / d for d in ("raw", "audit", "quarantine", "staging", "marts")]
        lock_down(con, tz, folders + ([] if export_dir is None else [export_dir]))
    except BaseException:
        con.close()
        raise
    return con


def export_lake(reader: Path, db_key: Path | None, lake: str | os.PathLike) -> dict[str, int]:
    """Write a warehouse's raw tables, load audit and quarantine into an empty lake, in ``csqa spark load``'s
    layout (day partitions, microsecond UTC timestamps, 64-bit integers); copy the pseudonym key file so
    later Spark loads hash customer ids as the warehouse did. ``reader``: the snapshot (or warehouse) to
    read; ``db_key``: the warehouse's ``<db>.key`` file, if any. Returns the rows written per table.

    All or nothing: the tables are written into a hidden folder inside the lake's (``.export-<pid>``: on the lake's
    own disk, under the folder's own permissions) and renamed into place when every one is complete, the raw tables
    last (what marks a folder as a lake); an export that fails or is stopped (Ctrl-C, SIGTERM) removes what it
    wrote, so no half lake blocks the next one, and a folder left by an export that was killed (its process gone)
    is removed by the next."""
    lake = Path(lake)
    taken = "That folder cannot take the export."
    if lake.exists() and not lake.is_dir():
        raise UsageError(f"{lake} is a file: export into a new or empty folder", title=taken)
    if (lake / "raw").exists() or (lake / "audit").exists():
        raise UsageError(f"{lake} already holds a lake: export into a new or empty folder", title=taken)
    made = not lake.exists()
    lake.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_exports(lake)
    held = sorted(p.name for p in lake.iterdir())
    if held:
        running = [n for n in held if n.startswith(_EXPORTING)]
        raise UsageError(
            f"{lake} is being written by another export (process {running[0].removeprefix(_EXPORTING)})"
            if running else
            f"{lake} is not empty (it holds {', '.join(held[:5])}{' ...' if len(held) > 5 else ''}): "
            "export into a new or empty folder", title=taken)
    work = lake / f"{_EXPORTING}{os.getpid()}"
    moved: list[Path] = []
    try:
        (work / "raw").mkdir(parents=True)
        try:
            counts = _export_into(reader, work)
        except duckdb.Error as e:
            raise WarehouseError(f"export to {lake} failed (nothing was written there): {e}") from e
        fingerprint = lake_fingerprint(work)
        if db_key is not None and db_key.is_file() and (
                fingerprint is None or key_fingerprint(db_key.read_bytes().strip()) == fingerprint):
            # (a key file the warehouse's ids were not made with, beside a warehouse keyed by the environment,
            # is not copied: Spark loads then need that environment, as the warehouse's loads do)
            shutil.copyfile(db_key, key_path(work / "lake"))  # where csqa spark load looks for it
            key_path(work / "lake").chmod(0o600)
        for entry in sorted(work.iterdir(), key=lambda p: p.name == "raw"):
            moved.append(lake / entry.name)
            entry.rename(lake / entry.name)
    except BaseException:
        for path in moved:  # (the folder held nothing else: checked above)
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if made and not any(lake.iterdir()):
            lake.rmdir()
    return counts


_EXPORTING = ".export-"  # + the exporting process's id: the working folder inside the lake's


def _remove_abandoned_exports(lake: Path) -> None:
    """Remove the working folders of earlier exports into ``lake`` whose process is gone (killed before it could
    clean up)."""
    for folder in lake.glob(f"{_EXPORTING}*"):
        pid = folder.name.removeprefix(_EXPORTING)
        if folder.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _export_into(reader: Path, lake: Path) -> dict[str, int]:
    """``export_lake``'s writing, into the folder ``lake`` (holding an empty ``raw``). Raises duckdb.Error."""
    con = connect_reader(reader, export_dir=lake.resolve(), timezone="UTC")
    counts = {}
    try:
        for entity in MODELS:
            cols = con.execute(
                "select column_name, data_type from duckdb_columns() where schema_name = 'raw' "
                "and table_name = ? order by column_index", [entity]).fetchall()
            sel = ", ".join(f"cast({c} as bigint) as {c}" if t in ("INTEGER", "SMALLINT", "TINYINT") else c
                            for c, t in cols)
            n = con.execute(f"select count(*) from raw.{entity}").fetchall()[0][0]
            counts[entity] = n
            if n:
                target = (lake / "raw" / entity).resolve()
                con.execute(f"""copy (select {sel}, cast({PARTITION_BY[entity]} as date) as created_day
                                      from raw.{entity})
                                to '{target}' (format parquet, partition_by (created_day))""")
        batches = [r[0] for r in con.execute("select distinct batch_id from audit.load_batches order by 1")
                   .fetchall()]
        audit = (lake / "audit" / "load_batches").resolve()
        audit.mkdir(parents=True)
        for b in batches:
            con.execute(f"copy (select * from audit.load_batches where batch_id = {int(b)} order by source_file) "
                        f"to '{audit / f'batch-{int(b):06d}.parquet'}' (format parquet)")
        counts["load_batches"] = len(batches)
        fingerprint = con.execute("select fingerprint from audit.pseudonym_key").fetchall() \
            if table_exists(con, "audit", "pseudonym_key") else []
        if fingerprint:  # later Spark loads are checked against it, as the warehouse's loads are
            write_fingerprint(lake, fingerprint[0][0])
        counts["quarantine"] = con.execute("select count(*) from audit.quarantine").fetchall()[0][0]
        if counts["quarantine"]:
            con.execute(f"""copy (select batch_id, source_file, entity, row_number, column_name, check_name,
                                         failing_value, raw_row from audit.quarantine)
                            to '{(lake / 'quarantine').resolve()}' (format parquet, partition_by (batch_id))""")
    finally:
        con.close()
    return counts
