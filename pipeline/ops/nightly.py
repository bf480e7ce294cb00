"""``csqa nightly``: the unattended job for cron and systemd timers.

1. Take the lock (``<db>.lock``, ``flock``): if another run holds it, exit at once with
   EXIT_LOCKED and touch nothing.
2. Load every file in the inbox (one batch, one transaction, marts refreshed, snapshot published).
3. Move each loaded or already-loaded file to ``<archive>/<YYYY-MM-DD>/`` and each rejected file to
   ``<rejected>/<YYYY-MM-DD>/`` with ``<name>.reason.txt`` beside it. Moves happen only after the
   batch committed: a run killed before that leaves the files in the inbox, and the next run
   skips what did land (same sha256) and loads the rest.
4. Print one JSON summary line; run ``--on-failure`` when the run failed or the share of
   quarantined rows passed ``--max-quarantine-rate``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from ..config import Config
from ..errors import (  # noqa: F401  (EXIT_LOCKED, Locked: re-exported, documented here)
    EXIT_INPUT_REJECTED,
    EXIT_LOCKED,
    EXIT_OK,
    Locked,
    UsageError,
)
from ..ingest.load import expand_paths, load, publish_if_behind, wrong_type_reason
from ..model.warehouse import lock_path, writer_lock  # noqa: F401  (lock_path: re-exported)

log = logging.getLogger(__name__)

EXIT_QUARANTINE_HIGH = 7


def _move(src: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    dst = folder / src.name
    k = 1
    while dst.exists():
        dst = folder / f"{src.stem}.{k}{src.suffix}"
        k += 1
    shutil.move(str(src), dst)
    return dst


def run_nightly(inbox: Path, db: Path, config: Config, *, archive: Path | None = None, rejected: Path | None = None,
                max_quarantine_rate: float = 0.05) -> tuple[int, dict]:
    """Returns (exit code, summary). Raises Locked when another run holds the lock."""
    t0 = time.perf_counter()
    inbox = Path(inbox)
    if not inbox.is_dir():
        raise UsageError(f"{inbox}: the inbox is not a folder")
    archive = Path(archive) if archive else inbox.parent / "archive"
    rejected = Path(rejected) if rejected else inbox.parent / "rejected"
    today = dt.datetime.now(dt.UTC).date().isoformat()
    with writer_lock(db):
        # (dot-files: exports still being written, left for the next run) a file delivered in a type csqa does not
        # read (a PDF, an Excel workbook: load.WRONG_TYPES) is rejected as a bad file is, with its reason, rather
        # than left in the inbox night after night
        wrong_type: list[Path] = []
        files = expand_paths([inbox], wrong_type)
        unreadable = []
        for f in wrong_type:
            dst = _move(f, rejected / today)
            dst.with_name(dst.name + ".reason.txt").write_text(
                f"{wrong_type_reason(f)}\n{dt.datetime.now(dt.UTC).isoformat()}\n", encoding="utf-8")
            unreadable.append(str(dst))
        summary: dict = {"inbox": str(inbox), "db": str(db), "files": len(files) + len(unreadable)}
        if not files and unreadable:
            summary["snapshot"] = publish_if_behind(db, config)
            summary.update({"status": "input_rejected", "files_rejected": len(unreadable), "rejected": unreadable,
                            "exit_code": EXIT_INPUT_REJECTED, "seconds": round(time.perf_counter() - t0, 3)})
            return EXIT_INPUT_REJECTED, summary
        if not files:
            summary["snapshot"] = publish_if_behind(db, config)  # a run killed before its publish
            summary.update({"status": "nothing_to_do", "exit_code": EXIT_OK,
                            "seconds": round(time.perf_counter() - t0, 3)})
            return EXIT_OK, summary
        result = load(files, db, config)
        moved, rejects = [], list(unreadable)
        for f in result.files:
            src = Path(f.source_file)
            if not src.exists():
                continue
            if f.status == "rejected":
                dst = _move(src, rejected / today)
                dst.with_name(dst.name + ".reason.txt").write_text(
                    f"{f.error}\nbatch {result.batch_id}, {dt.datetime.now(dt.UTC).isoformat()}\n", encoding="utf-8")
                rejects.append(str(dst))
            else:
                moved.append(str(_move(src, archive / today)))
        data = result.as_dict()
        rate = data["rows_quarantined"] / data["rows_read"] if data["rows_read"] else 0.0
        data["files_rejected"] += len(unreadable)
        code = EXIT_INPUT_REJECTED if data["files_rejected"] else EXIT_OK
        if code == EXIT_OK and rate > max_quarantine_rate:
            code = EXIT_QUARANTINE_HIGH
        summary.update({k: v for k, v in data.items() if k != "files"})
        summary.update({
            "status": {EXIT_OK: "ok", EXIT_INPUT_REJECTED: "input_rejected",
                       EXIT_QUARANTINE_HIGH: "quarantine_high"}[code],
            "quarantine_rate": round(rate, 4),
            "archived": len(moved),
            "archived_to": moved,  # where each loaded file now is (a load --force after exit 7 names it)
            "rejected": rejects,
            "exit_code": code,
            "seconds": round(time.perf_counter() - t0, 3),
        })
        return code, summary


def alert(command: str, summary: dict) -> None:
    """Run the --on-failure command with the summary on stdin and in $CSQA_SUMMARY."""
    env = {**os.environ, "CSQA_SUMMARY": json.dumps(summary, default=str)}
    try:
        subprocess.run(shlex.split(command), input=json.dumps(summary, default=str), text=True, env=env,
                       timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        log.error("the --on-failure command failed: %s", e)
