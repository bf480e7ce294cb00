"""``csqa refresh``: rebuild every mart of the warehouse from its stored rows, in one transaction, and publish.

A load refreshes the marts by its batch's scope, and rebuilds them whole only when it must (first build, a changed
configuration or SQL, a changed FAQ catalogue: ``marts.refresh``). Two things need a rebuild without new data:
- a changed ``csqa.toml`` (SLA targets, business hours, holidays), to be seen before the next delivery;
- the FAQ columns, which a nightly scores only for its batch's questions, with that night's model: a rebuild scores
  every question with one model, as a rebuild from the archive does (docs/OPERATIONS.md, "Backup").
It takes the writer lock as a load does (exit 6 while one runs), writes nothing when it fails or is stopped (one
transaction), and publishes a snapshot for readers when it commits.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from ..config import Config
from ..errors import UsageError, WarehouseError
from ..ingest.load import _rollback
from ..model import compaction, marts
from ..model.warehouse import connect, memory_hint, open_warehouse, table_exists, writer_lock
from .snapshots import publish


def rebuild(db: str | Path, config: Config) -> dict:
    """Rebuild every mart of ``db`` under ``config`` and publish; returns the refresh's info with the snapshot."""
    t0 = time.perf_counter()
    db = Path(db)
    _require_batches(db)  # (read-only: a file that is no csqa warehouse is left as it was, no lock file beside it)
    with writer_lock(db):
        con = open_warehouse(db, memory_limit=config.warehouse.memory_limit)
        committed = []
        try:
            con.execute("begin transaction")
            # (batches are never removed: _require_batches found one; the newest names the snapshot)
            last = con.execute("select max(batch_id) from audit.load_batches").fetchall()[0][0]
            info = marts.refresh(con, config, full=True)
            # the marker a nightly with an empty inbox publishes by (load.publish_if_behind): a refresh writes no batch
            con.execute("insert into audit.mart_refreshes select now(), ?, ?, config_hash from staging.settings",
                        [last, info["rebuilt"]])
            info["vacuumed"] = compaction.commit(con, on_commit=lambda: committed.append(True))
        except duckdb.Error as e:
            if committed:
                raise WarehouseError(f"the marts were rebuilt and committed, but the checkpoint after it failed: {e}"
                                     + memory_hint(e, config.warehouse.memory_limit)) from e
            _rollback(con)
            raise WarehouseError(f"the marts could not be rebuilt; the warehouse is as it was: {e}"
                                 + memory_hint(e, config.warehouse.memory_limit)) from e
        except BaseException:  # Ctrl-C, a stop, a bug
            if not committed:
                _rollback(con)
            raise
        finally:
            con.close()
        snapshot = publish(db, last, keep=config.warehouse.snapshots)
    return {"db": str(db), "batch_id": last, "rebuilt": info["rebuilt"], "interactions": info["interactions"],
            "days": info["days"],
            "marts_seconds": info["seconds"], "seconds": round(time.perf_counter() - t0, 3),
            "snapshot": str(snapshot or ""), "models": info["models"]}


def _require_batches(db: Path) -> None:
    """Refuse, before anything is written, a path that holds no csqa warehouse with a batch: none, a folder, a
    DuckDB file of something else, or a warehouse no batch was written to."""
    if db.is_dir():
        raise UsageError(f"{db} is a folder: --db names the warehouse's file (e.g. data/csqa.duckdb)")
    con = connect(db, read_only=True)  # (no file: "There is no warehouse yet."; not DuckDB: refused by its check)
    try:
        batches = table_exists(con, "audit", "load_batches") and con.execute(
            "select count(*) from audit.load_batches").fetchall()[0][0]
    finally:
        con.close()
    if not batches:
        raise WarehouseError(f"{db} holds no batch written by csqa (an empty or another DuckDB file), so there are no "
                             "marts to rebuild: load data first (csqa load FILES)",
                             title="There is nothing to refresh yet.")
