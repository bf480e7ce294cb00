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

A publish does not copy the whole file when it can help it. The snapshot it would remove anyway (the oldest, once
``keep`` are published; never the current one) is taken over instead: renamed to the new ``.part``, and only its
bytes that differ from the warehouse are rewritten (a nightly batch into a 10M-row warehouse changes ~20 MiB of
its 1.2 GB), then it is flushed and renamed like a copy. Every byte is compared, so the result is the warehouse's
file exactly, as a copy is. A snapshot is taken over only when no process has it open: the kernel grants a write
lease (``F_SETLEASE``) on a file only then, whoever the process and however it opened the file (DuckDB's own
``fcntl`` lock is not enough: a process loses it when it closes any other handle of the same file), and the lease
is held while the file is rewritten, so whoever opens the file meanwhile waits until it is complete (DuckDB's
readers, also refused by the exclusive ``fcntl`` lock taken here). A file with another hard link (a ``cp -l``
backup) is never taken over. Where leases are not granted (another file system, a file owned by another user,
``fs.leases-enable`` off), every publish copies.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import re
import shutil
import signal
from concurrent.futures import ThreadPoolExecutor
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


def _name_pattern(stem: str) -> re.Pattern:
    """A snapshot's file name, ``<stem>-<batch>-<utc time>.duckdb`` (the batch id its group)."""
    return re.compile(rf"{re.escape(stem)}-(\d+)-\d{{8}}T\d+Z\.duckdb")


def snapshot_batch(db: str | os.PathLike) -> int | None:
    """The batch id the newest published snapshot was taken after; None when none is published."""
    path = reader_path(db)
    if path == Path(db):
        return None
    m = _name_pattern(Path(db).stem).fullmatch(path.name)
    return int(m.group(1)) if m else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover  (someone else's live process)
        return True
    return True


def _published(folder: Path, stem: str) -> list[Path]:
    """The snapshots of the warehouse named ``stem`` in ``folder``, oldest first (not another warehouse's whose name
    starts with the same stem, e.g. ``csqa-eu`` beside ``csqa``, nor the stable link)."""
    pattern = _name_pattern(stem)
    return sorted(p for p in folder.glob(f"{stem}-*.duckdb") if pattern.fullmatch(p.name) and not p.is_symlink())


def publish(db: str | os.PathLike, batch_id: int | None, keep: int = 3) -> Path | None:
    """Publish the (closed) warehouse as a new snapshot (a copy, or a retired snapshot taken over) and point readers
    at it."""
    if keep <= 0:
        return None
    db = Path(db)
    folder = snapshot_dir(db)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"{db.stem}-{batch_id or 0:06d}-{stamp}.duckdb"
    tmp = folder / f"{name}.{os.getpid()}.part"
    snaps = _published(folder, db.stem)
    current = reader_path(db)
    retired = [p for p in snaps[:max(0, len(snaps) + 1 - keep)] if p != current]
    if not _take_over(db, retired, tmp):
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
    snaps = _published(folder, db.stem)
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


_CHUNK = 8 << 20  # compared at once
_PIECE = 64 << 10  # rewritten when it differs


def _take_over(db: Path, retired: list[Path], tmp: Path) -> bool:
    """Make ``tmp`` the warehouse's file from the newest of the ``retired`` snapshots that nobody has open, by
    rewriting only what differs. False when none can be taken (the caller copies the whole file)."""
    for old in reversed(retired):
        try:
            fd = os.open(old, os.O_RDWR | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            if os.fstat(fd).st_nlink != 1 or not _lease(fd):
                continue
            try:
                written = _rewrite_as(db, fd, old, tmp)
            finally:
                with contextlib.suppress(OSError):  # whoever waits to open it goes on
                    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
            log.info("snapshot %s taken over for the new one: %.1f MiB of %.1f MiB rewritten", old.name,
                     written / 2**20, os.fstat(fd).st_size / 2**20)
            return True
        finally:
            os.close(fd)  # and with it the fcntl lock
    return False


def _rewrite_as(db: Path, fd: int, old: Path, tmp: Path) -> int:
    """With the lease held (no other descriptor of the file is open): rename ``old`` to ``tmp`` and rewrite it as
    ``db``; the bytes written. The exclusive fcntl lock refuses DuckDB's readers should the kernel break the lease
    (after ``fs.lease-break-time``, 45 s, if the rewrite of a huge file takes longer)."""
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    old.rename(tmp)
    try:
        _sync_folder(tmp.parent)  # after a power loss the old name never holds a half-rewritten file
        written = _rewrite_differences(db, fd)
        os.fsync(fd)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return written


def _lease(fd: int) -> bool:
    """A write lease on the file of ``fd``: granted only when no other descriptor of it is open anywhere (this
    process's included). Its break is signalled with SIGWINCH, ignored unless a program handles it, instead of the
    default SIGIO, whose default action would end this process when someone opens the file meanwhile."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGWINCH)
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
    except (OSError, AttributeError):  # open elsewhere, or no leases here (AttributeError: not Linux)
        return False
    return True


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _rewrite_differences(db: Path, fd: int) -> int:
    """Make the file of ``fd`` equal to ``db`` byte for byte, writing only the pieces that differ; returns the
    bytes written. Two threads, each on half of the file (reading and comparing run without the GIL)."""
    with Path(db).open("rb", buffering=0) as src:
        size = os.fstat(src.fileno()).st_size
        half = (size // 2 // _CHUNK) * _CHUNK
        with ThreadPoolExecutor(2) as pool:
            parts = [pool.submit(_rewrite_range, src.fileno(), fd, lo, hi, db)
                     for lo, hi in ((0, half), (half, size)) if hi > lo]
            written = sum(p.result() for p in parts)
        os.ftruncate(fd, size)
    return written


def _rewrite_range(src: int, fd: int, lo: int, hi: int, db: Path) -> int:
    written = 0
    want, have = bytearray(_CHUNK), bytearray(_CHUNK)
    offset = lo
    while offset < hi:
        n = min(_CHUNK, hi - offset)
        if n < _CHUNK:
            want, have = bytearray(n), bytearray(n)
        if os.preadv(src, [want], offset) != n:  # pragma: no cover  (the closed warehouse does not change)
            raise OSError(f"{db} changed while it was being published")
        got = os.preadv(fd, [have], offset)  # short where the old snapshot ends: the rest of `have` is stale
        if got < n or want != have:  # bytearrays compare with memcmp
            w, h = memoryview(want), memoryview(have)
            for i in range(0, n, _PIECE):
                piece = w[i:i + _PIECE]
                if i + len(piece) > got or piece.tobytes() != h[i:i + _PIECE].tobytes():
                    if os.pwrite(fd, piece, offset + i) != len(piece):  # pragma: no cover  (a full disk)
                        raise OSError(f"a short write to the snapshot of {db}")
                    written += len(piece)
        offset += n
    return written
