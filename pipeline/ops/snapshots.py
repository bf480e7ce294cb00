"""Read-only snapshots of the warehouse for readers (dashboard, ``csqa sql``, analysts).

After a batch commits and the writer has closed the file, the whole database file is copied to
``<db dir>/snapshots/<name>-<batch>-<utc time>.duckdb`` and a pointer file ``snapshots/CURRENT``
is replaced atomically (write a temporary file, ``os.replace``). Readers resolve ``CURRENT`` when
they open a connection: a reader holding a snapshot keeps a consistent view and never blocks the
next load; a new reader gets the newest complete load. The last ``keep`` snapshots are kept.

A stable path, ``snapshots/<name>.latest.duckdb``, is a symbolic link switched atomically to the newest
snapshot with the pointer: analysts' tools open that one path (read-only) and always get the newest
complete snapshot (``csqa sql --print-path`` prints it).

A snapshot is written as ``<file>.<pid>.part`` and renamed when complete; a publish removes only the
``.part`` files of processes that are gone (a run killed mid-copy), never another live run's.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
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


def stable_path(db: str | os.PathLike) -> Path:
    """The path that always names the newest published snapshot (a symbolic link)."""
    db = Path(db)
    return snapshot_dir(db) / f"{db.stem}.latest.duckdb"


def snapshot_batch(db: str | os.PathLike) -> int | None:
    """The batch id the newest published snapshot was taken after; None when none is published."""
    path = reader_path(db)
    if path == Path(db):
        return None
    m = re.fullmatch(rf"{re.escape(Path(db).stem)}-(\d+)-\d{{8}}T\d+Z\.duckdb", path.name)
    return int(m.group(1)) if m else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover  (someone else's live process)
        return True
    return True


def publish(db: str | os.PathLike, batch_id: int | None, keep: int = 3) -> Path | None:
    """Copy the (closed) warehouse to a new snapshot and point readers at it."""
    if keep <= 0:
        return None
    db = Path(db)
    folder = snapshot_dir(db)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"{db.stem}-{batch_id or 0:06d}-{stamp}.duckdb"
    tmp = folder / f"{name}.{os.getpid()}.part"
    shutil.copyfile(db, tmp)
    with tmp.open("rb+") as fh:
        os.fsync(fh.fileno())
    tmp.replace(folder / name)
    pointer = folder / f"{db.stem}.CURRENT"
    ptmp = folder / f".{db.stem}.CURRENT.tmp"
    ptmp.write_text(name + "\n", encoding="utf-8")
    ptmp.replace(pointer)  # atomic on POSIX
    link, ltmp = stable_path(db), folder / f".{db.stem}.latest.{os.getpid()}.tmp"
    try:
        ltmp.unlink(missing_ok=True)
        ltmp.symlink_to(name)  # relative: the folder can move
        ltmp.replace(link)  # atomic on POSIX
    except OSError as e:  # pragma: no cover  (a file system without symbolic links: CURRENT still works)
        log.warning("could not point %s at the new snapshot: %s", link, e)
    snaps = sorted(folder.glob(f"{db.stem}-*.duckdb"))
    for old in snaps[:-keep]:
        try:
            old.unlink()  # a reader that still has it open keeps reading it (POSIX)
        except OSError as e:  # pragma: no cover
            log.warning("could not remove old snapshot %s: %s", old, e)
    for part in folder.glob("*.part"):  # left by a run killed mid-copy; a live run's copy stays
        pid = part.name.rsplit(".", 2)[-2]
        if not (pid.isdigit() and _alive(int(pid))):
            part.unlink(missing_ok=True)
    return folder / name
