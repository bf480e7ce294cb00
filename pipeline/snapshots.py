"""Read-only snapshots of the warehouse for readers (dashboard, ``csqa sql``, analysts).

After a batch commits and the writer has closed the file, the whole database file is copied to
``<db dir>/snapshots/<name>-<batch>-<utc time>.duckdb`` and a pointer file ``snapshots/CURRENT``
is replaced atomically (write a temporary file, ``os.replace``). Readers resolve ``CURRENT`` when
they open a connection: a reader holding a snapshot keeps a consistent view and never blocks the
next load; a new reader gets the newest complete load. The last ``keep`` snapshots are kept.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)


def snapshot_dir(db: Path) -> Path:
    return Path(db).parent / "snapshots"


def reader_path(db: str | os.PathLike) -> Path:
    """The newest published snapshot of ``db``, or ``db`` itself when none is published."""
    db = Path(db)
    pointer = snapshot_dir(db) / f"{db.stem}.CURRENT"
    try:
        target = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return db
    path = snapshot_dir(db) / target
    return path if path.exists() else db


def publish(db: str | os.PathLike, batch_id: int | None, keep: int = 3) -> Path | None:
    """Copy the (closed) warehouse to a new snapshot and point readers at it."""
    if keep <= 0:
        return None
    db = Path(db)
    folder = snapshot_dir(db)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"{db.stem}-{batch_id or 0:06d}-{stamp}.duckdb"
    tmp = folder / (name + ".part")
    shutil.copyfile(db, tmp)
    with tmp.open("rb+") as fh:
        os.fsync(fh.fileno())
    tmp.replace(folder / name)
    pointer = folder / f"{db.stem}.CURRENT"
    ptmp = folder / f".{db.stem}.CURRENT.tmp"
    ptmp.write_text(name + "\n", encoding="utf-8")
    ptmp.replace(pointer)  # atomic on POSIX
    snaps = sorted(folder.glob(f"{db.stem}-*.duckdb"))
    for old in snaps[:-keep]:
        try:
            old.unlink()  # a reader that still has it open keeps reading it (POSIX)
        except OSError as e:  # pragma: no cover
            log.warning("could not remove old snapshot %s: %s", old, e)
    for part in folder.glob("*.part"):
        if part != tmp:
            part.unlink(missing_ok=True)
    return folder / name
