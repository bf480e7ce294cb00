"""``csqa load``: read, validate and upsert files into the warehouse, one transaction per batch.

A *batch* is one run of ``csqa load`` over one or more files. Each file is read, validated and staged
on its own (stage.py: Parquet files beside the warehouse, read by SQL as ``stage_<entity>``; a file-level problem
rejects that file only); then one transaction upserts every entity, writes the quarantine and the audit rows and
refreshes the marts. Readers see the batch whole or not at all.

Upsert rules (documented in docs/DATA_CONTRACT.md):
- interactions, faq_articles: the row with the newest ``updated_at`` wins; a tie keeps the stored row.
- csat_surveys: the newest ``coalesce(responded_at, sent_at)`` wins, so an answer arriving
  days later replaces the unanswered survey.
- messages: immutable events; the first stored copy stays.
- Within a batch, ties break on the later file (in the order given, folders sorted by name)
  and then on the later record in the file.
- Every input record is counted once: loaded (it inserted or changed a row), quarantined (it
  failed a check), or duplicate (an equal or newer version exists).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from ..config import Config
from ..errors import ConfigError, InputFileError, UsageError, WarehouseError
from ..model import compaction, marts
from ..model.warehouse import connect, interruptible, memory_hint, open_warehouse, prepare, table_exists, writer_lock
from ..ops.snapshots import publish, reader_path, snapshot_batch
from .check_names import MAX_SHOWN, check_label
from .contract import FUTURE_CHECKED, KEYS, MODELS, future_limit
from .parallel import validated_chunks
from .privacy import key_fingerprint, key_path, pseudonym_key
from .read import SUPPORTED_SUFFIXES, empty_delivery, inspect, sha256_of
from .stage import Stage, folder_for

log = logging.getLogger(__name__)


@dataclass
class FileResult:
    source_file: str
    status: str  # loaded | rejected | skipped
    entity: str | None = None
    sha256: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    # of the duplicates: rows that differ from the stored version with the same updated_at (the stored one stays)
    rows_conflicting: int = 0
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


@dataclass
class LoadSummary:
    batch_id: int | None
    db: str
    files: list[FileResult]
    seconds: float = 0.0
    marts_seconds: float = 0.0
    marts: dict = field(default_factory=dict)
    snapshot: str = ""
    steps: dict = field(default_factory=dict)  # seconds spent in each step of the load
    ignored: list[str] = field(default_factory=list)  # files of the folders given that are not a type csqa reads
    # CPU seconds in each phase (reading to staging, upsert, marts, commit, snapshot): every thread of the process
    # (DuckDB's too) and its finished workers (the FAQ step's); a benchmark compares them with the wall time
    cpu: dict = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    def as_dict(self) -> dict:
        return {
            "batch_id": self.batch_id,
            "db": self.db,
            "files_loaded": self.count("loaded"),
            "files_rejected": self.count("rejected"),
            "files_skipped": self.count("skipped"),
            "rows_read": sum(f.rows_read for f in self.files),
            "rows_loaded": sum(f.rows_loaded for f in self.files),
            "rows_quarantined": sum(f.rows_quarantined for f in self.files),
            "rows_duplicate": sum(f.rows_duplicate for f in self.files),
            "rows_conflicting": sum(f.rows_conflicting for f in self.files),
            "seconds": round(self.seconds, 3),
            "marts_seconds": round(self.marts_seconds, 3),
            "marts_scope": {k: v for k, v in self.marts.items() if k != "models"},
            "marts_models": self.marts.get("models", {}),
            "snapshot": self.snapshot,
            "steps": {k: round(v, 3) for k, v in self.steps.items()},
            "ignored_files": self.ignored,
            "cpu_seconds": {k: round(v, 3) for k, v in self.cpu.items()},
            "files": [
                {k: v for k, v in asdict(f).items() if k not in ("started_at", "finished_at")}
                for f in self.files
            ],
        }


def _in_folder(folder: Path) -> list[Path]:
    """A folder's files, recursively, but hidden ones and those in hidden folders (``.name``: a file being written
    under a temporary name, a Mac's ``._`` companion files), sorted by path."""
    return sorted(f for f in folder.rglob("*")
                  if f.is_file() and not any(part.startswith(".") for part in f.relative_to(folder).parts))


# files delivered in a type csqa does not read, and what to do instead: a nightly rejects them with the reason, a
# load of their folder names them; any other file it does not read (a README, a file still being uploaded under
# a temporary suffix such as ``.filepart``, ``Thumbs.db``) is passed over without a word, as before
WRONG_TYPES = {
    **dict.fromkeys((".xlsx", ".xls", ".xlsm", ".xlsb", ".ods", ".numbers"),
                    'a spreadsheet, which csqa does not read: save it as "CSV UTF-8" and deliver that'),
    **dict.fromkeys((".pdf", ".doc", ".docx", ".rtf"), "a document, not a table csqa can read"),
    **dict.fromkeys((".zip", ".gz", ".tgz", ".7z", ".rar", ".tar"), "an archive: unpack it and deliver its files"),
    **dict.fromkeys((".xml", ".html", ".htm"), "markup, not a table csqa can read: export CSV, JSONL or Parquet"),
}


def wrong_type_reason(path: Path) -> str:
    return (f"{path}: {WRONG_TYPES[path.suffix.lower()]} (csqa reads "
            f"{', '.join(sorted(SUPPORTED_SUFFIXES))})")


def expand_paths(paths: list[str | Path], wrong_type: list[Path] | None = None) -> list[Path]:
    """Files as given; folders expand to their supported files (recursively, hidden ones left out), sorted by
    path. ``wrong_type``: a list to which the folders' files delivered in a type csqa does not read
    (``WRONG_TYPES``) are added, from the same walk."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            for f in _in_folder(p):
                suffix = f.suffix.lower()
                if suffix in SUPPORTED_SUFFIXES:
                    out.append(f)
                elif wrong_type is not None and suffix in WRONG_TYPES:
                    wrong_type.append(f)
        elif p.is_file():
            out.append(p)
        else:
            raise UsageError(f"{p}: no such file or folder")
    seen: set[Path] = set()
    unique = []
    for f in out:
        r = f.resolve()
        if r not in seen:
            seen.add(r)
            unique.append(f)
    return unique


def _cpu() -> float:
    """CPU seconds so far: every thread of this process (DuckDB's too) and its finished child processes (the FAQ
    step's workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _Progress:
    def __init__(self, total_files: int) -> None:
        self.on = sys.stderr.isatty()
        self.total = total_files
        self.rows = 0

    def update(self, i: int, name: str, rows: int) -> None:
        self.rows += rows
        if self.on:
            sys.stderr.write(f"\r[{i}/{self.total}] {name[:40]:<40} {self.rows:>12,} rows")
            sys.stderr.flush()

    def close(self) -> None:
        if self.on:
            sys.stderr.write("\n")


def _stage_file(con, stage: Stage, seq: int, res: FileResult, path: Path, config: Config, key: bytes, progress,
                idx, steps: dict):
    spec = inspect(path, config)
    res.entity = spec.entity
    threaded: list = []  # a threaded message log: the messages its interactions are built from
    rated: list = []  # an interactions file with a rating column: the rows its surveys are built from
    try:
        for timed in validated_chunks(spec, config, key):
            v = timed.validated
            steps["read"] += timed.read_seconds
            steps["validate"] += timed.wait_seconds  # in workers: the wait for their result
            for k, secs in v.timings.items():
                steps[f"validate.{k}"] += secs  # in workers: their own time, summed
            t = time.perf_counter()
            res.rows_read += v.rows_read
            res.rows_quarantined += v.rows_bad
            good = v.good
            if "_survey_score" in good.columns:
                rated.append(good[["interaction_id", "created_at", "first_response_at", "resolved_at", "updated_at",
                                   "_row_number", "_survey_score", "_survey_comment"]].copy())
                good = good.drop(columns=["_survey_score", "_survey_comment"])
            if "_thread_customer" in good.columns:
                threaded.append(good[["interaction_id", "message_id", "sender_role", "sent_at", "text",
                                      "_row_number", "_thread_customer"]].copy())
                good = good.drop(columns=["_thread_customer"])
            if spec.entity == "csat_surveys":
                good["updated_at"] = good["responded_at"].fillna(good["sent_at"])
            if len(good):
                good["_file_seq"] = seq
                stage.append(spec.entity, seq, good)
            if len(v.failures):
                q = v.failures.assign(entity=spec.entity, _file_seq=seq)
                con.register("_q", q)
                con.execute("insert into stage_quarantine by name select * from _q")
                con.unregister("_q")
            steps["stage"] += time.perf_counter() - t
            progress.update(idx, path.name, v.rows_read)
            del timed, v, good  # not kept alive while the next chunk is read (parallel.py: memory)
        if threaded:
            _stage_threads(stage, seq, spec, threaded, config)
        if rated:
            _stage_row_surveys(stage, seq, spec, rated)
    except InputFileError:
        stage.drop_file(seq)
        raise
    finally:
        res.notes = list(spec.notes)
    if res.rows_read == 0:
        res.notes.append("no data rows")
    return spec


def _stage_threads(stage: Stage, seq: int, spec, threaded: list, config: Config) -> None:
    """The interactions a threaded message log implies, staged beside its messages (not counted as the
    file's records: every record of the file is a message)."""
    import pandas as pd

    from .validate import thread_interactions

    frame = thread_interactions(spec, pd.concat(threaded, ignore_index=True), config)
    frame["_file_seq"] = seq
    stage.append("interactions", seq, frame)
    spec.notes.append(f"threaded into {len(frame):,} interactions")


def _stage_row_surveys(stage: Stage, seq: int, spec, rated: list) -> None:
    """CSAT surveys from a rating column of an interactions file, staged beside its interactions (not
    counted as the file's records: every record of the file is an interaction)."""
    import pandas as pd

    from .validate import row_surveys

    frame = row_surveys(spec, pd.concat(rated, ignore_index=True))
    if frame.empty:
        return
    frame["_file_seq"] = seq
    stage.append("csat_surveys", seq, frame)
    spec.notes.append(f"{len(frame):,} CSAT surveys from column {spec.source.survey.score!r}")


def _cross_entity_checks(con, stage: Stage, results: dict[int, FileResult], specs: dict) -> None:
    """Checks that need rows of two files or of the warehouse, on the staged batch:

    - ``message_key_conflict``: a message id already stored (or staged earlier in the batch) under another
      interaction: quarantined, not counted as a duplicate;
    - ``survey_not_before_creation``: a survey sent before its interaction was created (when the interaction
      is known: staged in this batch or stored)."""
    def label(seq: int, col: str) -> str:
        spec = specs.get(seq)
        return spec.label(col) if spec is not None else col

    # the stored messages compared: those within the range of the staged ids (zone maps; _upsert)
    within, _, _ = _key_range(con, "message_id", "select message_id from stage_messages")
    bad = con.execute(
        f"""with s as (
               select message_id, interaction_id, _file_seq, _row_number,
                      first_value(interaction_id) over (partition by message_id order by _file_seq, _row_number)
                          as first_interaction_id
               from stage_messages
           )
           select s._file_seq, s._row_number, s.message_id, s.interaction_id,
                  coalesce(r.interaction_id, s.first_interaction_id) as owner
           from s left join (select message_id, interaction_id from raw.messages
                             where {within} and message_id in (select message_id from stage_messages)) as r
                         using (message_id)
           where s.interaction_id <> coalesce(r.interaction_id, s.first_interaction_id)"""
    ).fetchall()
    rows = [(seq, rn, "messages", label(seq, "message_id"), "message_key_conflict",
             f"{mid} (already under interaction {owner}, here under {iid})") for seq, rn, mid, iid, owner in bad]
    # only the interactions the staged surveys name: a group-by over the whole of raw.interactions ran out of
    # memory on a 10M warehouse (and cost its size on every batch, surveys or not)
    within, _, _ = _key_range(con, "interaction_id", "select interaction_id from stage_csat_surveys")
    bad = con.execute(
        f"""with named as (select distinct interaction_id from stage_csat_surveys),
           known as (
               select interaction_id, min(created_at) as created_at from (
                   select interaction_id, created_at from stage_interactions
                   where interaction_id in (select interaction_id from named)
                   union all select interaction_id, created_at from raw.interactions
                   where {within} and interaction_id in (select interaction_id from named)
               ) group by interaction_id
           )
           select s._file_seq, s._row_number, s.sent_at, k.created_at
           from stage_csat_surveys as s join known as k using (interaction_id)
           where s.sent_at < k.created_at"""
    ).fetchall()
    rows += [(seq, rn, "csat_surveys", f"{label(seq, 'sent_at')},created_at (interaction)",
              "survey_not_before_creation", f"{label(seq, 'sent_at')}={sent.isoformat()}; "
              f"created_at={created.isoformat()}") for seq, rn, sent, created in bad]
    if not rows:
        return
    con.execute("create or replace temp table _xbad (_file_seq integer, _row_number bigint, entity varchar, "
                "column_name varchar, check_name varchar, failing_value varchar)")
    con.executemany("insert into _xbad values (?, ?, ?, ?, ?, ?)", rows)
    for entity in ("messages", "csat_surveys"):
        con.execute(
            f"""insert into stage_quarantine by name
                select x._row_number as row_number, x.column_name, x.check_name, x.failing_value,
                       cast(to_json(s) as varchar) as raw_row, x.entity, x._file_seq
                from _xbad as x join stage_{entity} as s using (_file_seq, _row_number)
                where x.entity = '{entity}'"""
        )
        stage.remove(entity, f"select distinct _file_seq, _row_number from _xbad where entity = '{entity}'")
    for seq, n in con.execute("select _file_seq, count(distinct _row_number) from _xbad group by 1").fetchall():
        if seq in results:
            results[seq].rows_quarantined += n
    con.execute("drop table _xbad")


# events are written in the order of their send time: a refresh reads the stored events of its scope, and the
# dashboard a conversation's, within send times (marts._scope_events, dashboard/data.py), which skips only the row
# groups whose zone map of sent_at lies outside them. Without it a backfill's row groups each held the whole span of
# its files' times (rows of all files interleaved), so none could be skipped.
_WRITE_ORDER = {"messages": "order by s.sent_at", "csat_surveys": "order by s.sent_at"}


# A survey's newer version may name another interaction than the stored one (messages cannot: a message id stored
# under another interaction is quarantined): the fact row of the interaction it left still counts it until refreshed,
# so the upsert notes that interaction in MOVED and the refresh adds it to its scope (marts.refresh, ``moved``)
MOVABLE = ("csat_surveys",)
MOVED = "_moved_from"


def _key_range(con, column: str, keys_sql: str) -> tuple[str, str | None, str | None]:
    """A condition keeping ``column`` within the range of the keys ``keys_sql`` selects, as literal constants (a
    filter DuckDB checks against each row group's zone map; a parameter cannot be used where the SQL is copied to
    a file, Stage.spill), ``false`` when there are no keys; and the range's ends."""
    lo, hi = con.execute(f"select min(k), max(k) from ({keys_sql}) as t(k)").fetchall()[0]
    if lo is None:
        return "false", None, None
    return f"{column} between {_literal(lo)} and {_literal(hi)}", lo, hi


def _literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def conflict_note(n: int) -> str:
    """What a load says of a file's ``rows_conflicting`` (in ``audit.load_batches.notes`` and on its line)."""
    return (f"{n:,} row(s) differ from the stored version with the same updated_at: the stored version was kept "
            "(a correction needs a newer updated_at, or csqa load --force)")


def _conflicts(con, entity: str, key: str, order: str, cols: list[str], within: str) -> dict[int, int]:
    """Per staged file, the keys whose newest staged version has the stored row's ``order`` value (a tie: the stored
    row stays, and the row counts as a duplicate) but differs from it in a contract column: a correction delivered
    without a newer updated_at, which the load keeps out and says so (docs/OPERATIONS.md). The ties are found on
    the keys alone (a first load, or a batch of new rows, finds none); only the tied rows are compared whole, and
    the stored rows read whole are those within the tied keys' own range, given as constants (DuckDB skips the
    row groups whose zone map lies outside it: a re-delivery of recent rows, when ids grow with time)."""
    con.execute(f"""
        create or replace temp table _ties as
        with tie as (
            select s.{key}, s.{order}, s._file_seq, s._row_number from stage_{entity} s
            join raw.{entity} r on r.{key} = s.{key} and r.{order} = s.{order}
            where {within}
        ),
        newest as (
            select s.{key}, max(s.{order}) as {order} from stage_{entity} s semi join tie t on t.{key} = s.{key}
            group by 1
        )
        select t.* from tie t semi join newest n on n.{key} = t.{key} and n.{order} = t.{order}""")
    try:
        lo, hi = con.execute(f"select min({key}), max({key}) from _ties").fetchall()[0]
        if lo is None:
            return {}
        differs = " or ".join(f"r.{c} is distinct from s.{c}" for c in cols if not c.startswith("_"))
        return dict(con.execute(f"""
            select f, count(*) from (
                select t.{key}, max(t._file_seq) as f from _ties t
                join stage_{entity} s on s.{key} = t.{key} and s._file_seq = t._file_seq
                                     and s._row_number = t._row_number
                join raw.{entity} r on r.{key} = t.{key} and r.{order} = t.{order}
                where r.{key} between $lo and $hi and ({differs})
                group by 1)
            group by 1""", {"lo": lo, "hi": hi}).fetchall())
    finally:
        con.execute("drop table if exists _ties")


def _not_future(entity: str, column: str) -> str:
    """The condition a stored row's ``column`` must meet to keep a staged version out: not past the clock (the
    contract's ``not_in_the_future``). A stored row dated in the future (loaded before the contract checked it: a
    typo such as 2062) is replaced by any version delivered, or it would win every comparison for decades."""
    if entity not in FUTURE_CHECKED:
        return ""
    return f" and {column} <= '{future_limit().isoformat()}'::timestamptz"


def _upsert(con, stage: Stage, entity: str, batch_id: int, force: bool, dry_run: bool = False) -> dict[int, int]:
    key, order = KEYS[entity]
    cols = [c for c, _ in con.execute(
        f"select column_name, 1 from duckdb_columns() where schema_name='raw' and table_name='{entity}'"
    ).fetchall()]
    # the stored rows compared are those within the range of the staged keys, given as constants: DuckDB skips the
    # row groups whose zone map of the key lies outside it (when keys grow with time, all but the newest) instead
    # of reading every stored key (the table's size on every batch: 32M message ids in a 10M warehouse)
    within, lo, hi = _key_range(con, f"r.{key}", f"select {key} from stage_{entity}")
    if order is None:
        rank = "order by _file_seq, _row_number"
        newer = f"not exists (select 1 from raw.{entity} r where {within} and r.{key} = c.{key})"
    else:
        rank = f"order by {order} desc, _file_seq desc, _row_number desc"
        cmp = ">" if force else ">="
        newer = (f"not exists (select 1 from raw.{entity} r where {within} and r.{key} = c.{key} "
                 f"and r.{order} {cmp} c.{order}{_not_future(entity, f'r.{order}')})")
    # ranked on the key columns only (the window sorted every column), and the winners kept as their keys: the
    # staged rows are read whole once, by the insert (a copy of the winning rows, the whole file on a first load,
    # stayed in memory until the commit, beside the marts' refresh); the keys are kept in a file, not a temporary
    # table, for the same reason (Stage.spill)
    ranked_cols = ", ".join(dict.fromkeys(c for c in (key, order, "_file_seq", "_row_number") if c))
    winners = stage.spill(f"winners-{entity}", f"""
        with ranked as (
            select {ranked_cols}, row_number() over (partition by {key} {rank}) as _rn from stage_{entity}
        )
        select c.{key}, c._file_seq, c._row_number from ranked c where c._rn = 1 and {newer}""")
    counts = dict(con.execute(f"select _file_seq, count(*) from {winners} group by 1").fetchall())
    if order is not None and not force and not dry_run:
        stage.conflicts[entity] = _conflicts(con, entity, key, order, cols, within)
    if dry_run:  # what would change, nothing written
        return counts
    # the stored rows replaced, within the same range of the staged keys (the winners' lie in it)
    if entity in MOVABLE:  # the interactions whose stored rows a new version names another interaction for
        con.execute(f"""insert into {MOVED} select r.interaction_id from raw.{entity} as r
                        join stage_{entity} as s on s.{key} = r.{key}
                        semi join {winners} as p on p.{key} = s.{key} and p._file_seq = s._file_seq
                                                 and p._row_number = s._row_number
                        where r.{key} between $lo and $hi and r.interaction_id <> s.interaction_id""",
                    {"lo": lo, "hi": hi})
    con.execute(f"delete from raw.{entity} where {key} between $lo and $hi and {key} in (select {key} from {winners})",
                {"lo": lo, "hi": hi})
    select_cols = ", ".join(
        f"{batch_id}::bigint as _batch_id" if c == "_batch_id" else
        "f.source_file as _source_file" if c == "_source_file" else f"s.{c}"
        for c in cols
    )
    con.execute(
        f"""insert into raw.{entity} ({', '.join(cols)}) select {select_cols}
            from stage_{entity} s
            semi join {winners} p on p.{key} = s.{key} and p._file_seq = s._file_seq and p._row_number = s._row_number
            join batch_files f using (_file_seq)
            {_WRITE_ORDER.get(entity, "")}"""
    )
    return counts


def load(paths: list[str | Path], db: str | Path, config: Config, *, force: bool = False) -> LoadSummary:
    t0 = time.perf_counter()
    wrong_type: list[Path] = []
    files = expand_paths(paths, wrong_type)
    ignored = [str(f) for f in wrong_type]
    if not files:
        raise UsageError(f"no input files found in {', '.join(map(str, paths))}"
                         + (f" ({len(ignored)} of a type csqa does not read: {', '.join(ignored[:5])})"
                            if ignored else ""))
    with writer_lock(db):  # one writer at a time: a second load or nightly exits with EXIT_LOCKED
        con = open_warehouse(db, memory_limit=config.warehouse.memory_limit)
        try:
            summary = _load(con, files, db, config, force)
            last = con.execute("select max(batch_id) from audit.load_batches").fetchall()[0][0]
        except duckdb.Error as e:  # before the batch's transaction (staging, cross-file checks): nothing written
            raise WarehouseError(f"the batch could not be staged; nothing was written: {e}"
                                 + memory_hint(e, config.warehouse.memory_limit)) from e
        finally:
            con.close()
        t, c = time.perf_counter(), _cpu()
        summary.snapshot = _publish_if_behind(db, config, summary.batch_id, last)
        if summary.snapshot:
            summary.steps["snapshot"] = time.perf_counter() - t
            summary.cpu["snapshot"] = _cpu() - c
    summary.seconds = time.perf_counter() - t0
    summary.ignored = ignored
    return summary


def _publish_if_behind(db, config: Config, batch_id: int | None, last: int | None) -> str:
    """Publish after a new batch, and also whenever the newest snapshot is older than the last committed
    batch (a run killed between its commit and its publish): readers never stay behind."""
    published = snapshot_batch(db)
    if batch_id is not None or reader_path(db) == Path(db) or (last or 0) > (published or 0):
        return str(publish(db, batch_id or last, keep=config.warehouse.snapshots) or "")
    return ""


def _last_refresh(con) -> dt.datetime | None:
    """When the newest ``csqa refresh`` stored in ``con``'s file committed (None: none, or a file from before
    ``audit.mart_refreshes``)."""
    if not table_exists(con, "audit", "mart_refreshes"):
        return None
    return con.execute("select max(refreshed_at) from audit.mart_refreshes").fetchall()[0][0]


def publish_if_behind(db, config: Config) -> str:
    """For a run with nothing to load (``csqa nightly`` on an empty inbox): publish the warehouse when the
    newest snapshot is older than its last committed batch, or than its last committed ``csqa refresh`` (a refresh
    writes no batch). Call with the writer lock held."""
    if not Path(db).exists():
        return ""
    con = connect(db, read_only=True)
    try:
        last = con.execute("select max(batch_id) from audit.load_batches").fetchall()[0][0]
        refreshed = _last_refresh(con)
    except duckdb.Error:  # no batch table yet: nothing was ever committed
        return ""
    finally:
        con.close()
    if last is None:
        return ""
    published = reader_path(db)
    if published != Path(db) and refreshed is not None:
        reader = connect(published, read_only=True)
        try:
            behind = refreshed != _last_refresh(reader)
        finally:
            reader.close()
        if behind:
            return str(publish(db, last, keep=config.warehouse.snapshots) or "")
    return _publish_if_behind(db, config, None, last)


def _load(con, files: list[Path], db, config: Config, force: bool, *, dry_run: bool = False,
          key: bytes | None = None, stage_dir: Path | None = None) -> LoadSummary:
    """Stage the files and (but for a dry run) write the batch. A load stages in ``<db>.stage/`` (a killed load's
    staged files there are deleted first), a dry run in ``stage_dir``; the staged files are deleted at the end."""
    if key is None and config.privacy.pseudonymise_customer_id:
        key = _warehouse_key(con, db, config)
    stage = Stage(con, stage_dir or folder_for(db))
    try:
        return _load_staged(con, stage, files, db, config, force, dry_run=dry_run, key=key)
    finally:
        stage.close()


def _warehouse_key(con, db, config: Config) -> bytes:
    """The pseudonym key (``privacy.pseudonym_key``), if it is the one the warehouse's customer ids were made with:
    its fingerprint is kept in ``audit.pseudonym_key`` from the first load on (written in the batch's transaction,
    ``_write_batch``). A load with another key would give every returning customer a new id, silently: it is
    refused, and no key file is created beside a warehouse that has a key already."""
    stored = con.execute("select fingerprint from audit.pseudonym_key").fetchall()
    return checked_key(stored[0][0] if stored else None, db, config, "warehouse")


def checked_key(fingerprint: str | None, owner, config: Config, what: str) -> bytes:
    """The pseudonym key of a run on the warehouse or lake ``owner`` (its key file ``privacy.key_path(owner)``),
    refused unless its fingerprint is ``fingerprint`` (None: nothing is stored yet, any key goes)."""
    env = config.privacy.key_env
    restore = (f"Run it with the nightly job's environment (its {env}), or restore the key file from its backup; "
               "a new key would give every returning customer a new id (docs/PRIVACY.md).")
    if fingerprint and not os.environ.get(env) and not key_path(owner).is_file():
        raise ConfigError(f"This {what}'s customer ids were made with a pseudonym key, and this run has none: "
                          f"{env} is not set and there is no key file {key_path(owner)}. {restore}",
                          title="The pseudonym key is missing.")
    key = pseudonym_key(owner, env)
    if fingerprint and fingerprint != key_fingerprint(key):
        source = env if os.environ.get(env) else f"the key file {key_path(owner)}"
        raise ConfigError(f"The pseudonym key of this run ({source}) is not the one this {what}'s customer ids "
                          f"were made with. {restore}", title=f"The pseudonym key does not match the {what}.")
    return key


EMPTY_NOTE = "the file is empty: no rows delivered"


def empty_file(res: FileResult, path: Path, config: Config) -> bool:
    """Whether ``path`` is a CSV or JSON-lines file with nothing in it (``read.empty_delivery``): an export of a day
    with nothing to deliver, ``res`` loaded with 0 rows and a note (never skipped as the same bytes as another empty
    file), or rejected when its name does not say its entity. Both engines' file loops ask this first."""
    try:
        res.entity = empty_delivery(path, config)
    except InputFileError as e:
        res.status, res.error = "rejected", str(e)
        log.info("rejected %s: %s", path, e)  # (reported in the result: the CLI prints it, the nightly archives it)
        return True
    if res.entity is None:
        return False
    res.notes.append(EMPTY_NOTE)
    return True


def _load_staged(con, stage: Stage, files: list[Path], db, config: Config, force: bool, *, dry_run: bool,
                 key: bytes | None) -> LoadSummary:
    # (a file of no rows is never "already loaded": every empty file has the bytes of every other, whatever it is)
    loaded_shas = {r[0] for r in con.execute(
        "select sha256 from audit.load_batches where status = 'loaded' and sha256 is not null and rows_read > 0"
    ).fetchall()}
    results: list[FileResult] = []
    steps: defaultdict[str, float] = defaultdict(float)
    progress = _Progress(len(files))
    batch_shas: set[str] = set()
    specs: dict = {}
    by_seq: dict[int, FileResult] = {}
    c = _cpu()
    for seq, path in enumerate(files, start=1):
        res = FileResult(source_file=str(path), status="loaded", started_at=_now())
        results.append(res)
        try:
            res.sha256 = sha256_of(path)
        except OSError as e:
            res.status, res.error, res.finished_at = "rejected", f"{path.name}: cannot read ({e})", _now()
            continue
        if empty_file(res, path, config):
            res.finished_at = _now()
            continue
        if res.sha256 in batch_shas or (res.sha256 in loaded_shas and not force):
            res.status = "skipped"
            res.notes.append("already loaded (same sha256); use --force to reload")
            res.finished_at = _now()
            continue
        batch_shas.add(res.sha256)
        con.execute("insert into batch_files values (?, ?)", [seq, str(path)])
        try:
            specs[seq] = _stage_file(con, stage, seq, res, path, config, key, progress, seq, steps)
            by_seq[seq] = res
        except InputFileError as e:
            res.status, res.error = "rejected", str(e)
            res.rows_read = res.rows_quarantined = 0
            log.info("rejected %s: %s", path, e)  # (reported in the result: the CLI prints it, the nightly archives it)
        res.finished_at = _now()
    progress.close()
    summary = LoadSummary(batch_id=None, db=str(db), files=results, steps=steps,
                          cpu={"read to stage": _cpu() - c})
    seq_of = {str(p): i for i, p in enumerate(files, start=1)}
    if dry_run:
        if by_seq:  # something staged: compared with the stored rows, read in place
            with _stored_rows(con, db):
                _cross_entity_checks(con, stage, by_seq, specs)
                _dry_run_counts(con, stage, results, seq_of, force)
        return summary
    to_record = [r for r in results if r.status != "skipped"]
    if not to_record:
        return summary
    warm_up = marts.warm_up_faq()
    try:
        _write_batch(con, stage, summary, to_record, seq_of, specs, by_seq, config, force,
                     key_fingerprint(key) if key is not None else None)
    finally:
        warm_up.join()
    return summary


def _write_batch(con, stage: Stage, summary: LoadSummary, to_record: list[FileResult], seq_of: dict, specs: dict,
                 by_seq: dict, config: Config, force: bool, fingerprint: str | None) -> None:
    """The cross-file checks, then the batch's transaction: upsert, quarantine and audit rows, refresh, commit."""
    results, steps = summary.files, summary.steps
    _cross_entity_checks(con, stage, by_seq, specs)
    committed: list[int] = []  # the batch id, once committed (a failure or stop after it rolls nothing back)
    try:
        con.execute("begin transaction")
        batch_id = con.execute("select coalesce(max(batch_id), 0) + 1 from audit.load_batches").fetchall()[0][0]
        summary.batch_id = batch_id
        if fingerprint is not None:  # the key's fingerprint, with the first batch it made customer ids for
            con.execute("insert into audit.pseudonym_key select ?, now() "
                        "where not exists (select 1 from audit.pseudonym_key)", [fingerprint])
        tu, c = time.perf_counter(), _cpu()
        con.execute(f"create or replace temp table {MOVED} (interaction_id varchar)")
        for entity in MODELS:
            if not stage.rows(entity):
                continue
            counts = _upsert(con, stage, entity, batch_id, force)
            for r in results:
                if r.status == "loaded" and r.entity == entity:
                    r.rows_loaded = counts.get(seq_of[r.source_file], 0)
        steps["upsert"] = time.perf_counter() - tu
        summary.cpu["upsert"] = _cpu() - c
        for r in results:
            if r.status == "loaded":
                r.rows_duplicate = r.rows_read - r.rows_loaded - r.rows_quarantined
                r.rows_conflicting = stage.conflicts.get(r.entity, {}).get(seq_of[r.source_file], 0)
                if r.rows_conflicting:
                    r.notes.append(conflict_note(r.rows_conflicting))
        con.execute(
            """insert into audit.quarantine
               select ?, f.source_file, q.entity, q.row_number, q.column_name, q.check_name,
                      q.failing_value, q.raw_row
               from stage_quarantine q join batch_files f using (_file_seq)
               order by q._file_seq, q.row_number""",
            [batch_id],
        )
        rows = [
            (batch_id, r.source_file, r.sha256, r.entity, r.started_at, r.finished_at, r.status,
             r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_duplicate, r.error,
             "; ".join(r.notes) or None)
            for r in to_record
        ]
        con.executemany("insert into audit.load_batches values (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        tm, c = time.perf_counter(), _cpu()
        summary.marts = marts.refresh(con, config, batch_id=batch_id, moved=MOVED)
        con.execute(f"drop table {MOVED}")
        summary.marts_seconds = steps["marts"] = time.perf_counter() - tm
        summary.cpu["marts"] = _cpu() - c
        tm, c = time.perf_counter(), _cpu()
        # DuckDB's vacuum only when deleted rows add up (compaction.py): reported beside the refresh's scope
        summary.marts["vacuumed"] = compaction.commit(con, on_commit=lambda: committed.append(batch_id))
        steps["commit"] = time.perf_counter() - tm
        summary.cpu["commit"] = _cpu() - c
    except duckdb.Error as e:
        if committed:  # the checkpoint after the commit failed: the batch is stored (the log replays it on opening)
            raise WarehouseError(f"batch {batch_id} was committed, but the checkpoint after it failed: {e}"
                                 + memory_hint(e, config.warehouse.memory_limit)) from e
        _rollback(con)
        raise WarehouseError(f"the batch could not be written and was rolled back: {e}"
                             + memory_hint(e, config.warehouse.memory_limit)) from e
    except BaseException:  # Ctrl-C, a stop (SIGTERM), a bug
        if not committed:
            _rollback(con)
        raise


def _rollback(con) -> None:
    """Roll the batch's transaction back. A stop's interrupt (cli._watch_stops) can land in the ROLLBACK itself,
    which then raises and may leave the transaction open: it is one-shot, so a second ROLLBACK runs (and finds no
    transaction where the first had ended it before raising)."""
    try:
        con.execute("rollback")
    except duckdb.InterruptException:
        with contextlib.suppress(duckdb.TransactionException):
            con.execute("rollback")


# --- csqa load --dry-run --------------------------------------------------------------------------


def _dry_run_counts(con, stage: Stage, results: list[FileResult], seq_of: dict, force: bool) -> None:
    for entity in MODELS:
        if not stage.rows(entity):
            continue
        counts = _upsert(con, stage, entity, 0, force, dry_run=True)
        for r in results:
            if r.status == "loaded" and r.entity == entity:
                r.rows_loaded = counts.get(seq_of[r.source_file], 0)
    for r in results:
        if r.status == "loaded":
            r.rows_duplicate = r.rows_read - r.rows_loaded - r.rows_quarantined


def _dry_run_connection(db, config: Config, temp_dir: str) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse for ``csqa load --dry-run``: the schema (empty raw tables, which the staging tables
    take their columns from) and a copy of the stored load batches (their sha256 decide which files are skipped),
    under the load's memory limit, spilling to ``temp_dir``. The stored rows are not copied: the staged batch is
    compared with them in the file (:func:`_stored_rows`), so the dry run's memory does not grow with the
    warehouse, and the file is held (read-only, which blocks a load) for a moment here and while the batch is
    compared, not while the files are read."""
    con = interruptible(duckdb.connect(config={"temp_directory": temp_dir}))  # a stop ends its statements
    con.execute("set timezone = 'UTC'")
    prepare(con, "the dry run's in-memory warehouse", config.warehouse.memory_limit)
    try:
        if Path(db).is_file():
            with _attached(con, db):
                cols = _stored_columns(con, "audit", "load_batches")
                if cols:
                    names = ", ".join(f'"{c}"' for c in cols)
                    con.execute(f"insert into audit.load_batches ({names}) select {names} "
                                "from wh.audit.load_batches")
                if _stored_columns(con, "audit", "pseudonym_key"):  # checked as the load checks it (_dry_run_key)
                    con.execute("insert into audit.pseudonym_key select fingerprint, recorded_at "
                                "from wh.audit.pseudonym_key")
    except BaseException:
        con.close()
        raise
    return con


@contextlib.contextmanager
def _attached(con, db):
    """The warehouse file attached read-only as ``wh`` for the block."""
    path = str(Path(db)).replace("'", "''")
    try:
        con.execute(f"attach '{path}' as wh (read_only)")
    except duckdb.Error as e:
        if "lock" in str(e).lower():
            raise WarehouseError(f"{db} is held by a load (or another writer), so the dry run cannot read it; run it "
                                 f"again when that has finished. DuckDB said: {e}",
                                 title="The warehouse is locked.") from e
        raise WarehouseError(f"cannot read {db} for a dry run: {e}") from e
    try:
        yield
    finally:
        con.execute("detach wh")


def _stored_columns(con, schema: str, table: str, database: str = "wh") -> dict[str, str]:
    """A table's columns and their types, in order (none: no such table)."""
    return dict(con.execute(
        "select column_name, data_type from duckdb_columns() where database_name = ? and schema_name = ? "
        "and table_name = ? order by column_index", [database, schema, table]).fetchall())


_BATCHES_STATE = "select max(batch_id), count(*) from {}"


@contextlib.contextmanager
def _stored_rows(con, db):
    """For the block, the in-memory raw tables are views of the warehouse file's (attached read-only): the
    cross-file checks and the upsert's comparison read the stored rows in place. A column an older warehouse
    lacks reads as NULL, one stored as another type is cast to the current schema's. The file's load batches
    must be those copied when the dry run started (which decided the files skipped as loaded): a load that
    committed meanwhile, or a warehouse that appeared or went away, stops the dry run with a message."""
    copied = con.execute(_BATCHES_STATE.format("audit.load_batches")).fetchall()[0]
    if not Path(db).is_file():
        if copied[1]:
            raise WarehouseError(f"{db} went away during the dry run; nothing was compared")
        yield  # no warehouse: nothing stored to compare with
        return
    with _attached(con, db):
        now = (con.execute(_BATCHES_STATE.format("wh.audit.load_batches")).fetchall()[0]
               if _stored_columns(con, "audit", "load_batches") else (None, 0))
        if tuple(now) != tuple(copied):
            raise WarehouseError(f"{db} changed during the dry run (a load committed batch {now[0]}): its report "
                                 "would mix the warehouse before and after; run the dry run again")
        swapped = []
        try:
            for entity in MODELS:
                stored = _stored_columns(con, "raw", entity)
                if not stored:
                    continue
                mine = _stored_columns(con, "raw", entity, database="memory")
                select = ", ".join(f'"{c}"' if stored.get(c) == t else
                                   f'cast("{c}" as {t}) as "{c}"' if c in stored else f'null::{t} as "{c}"'
                                   for c, t in mine.items())
                con.execute(f"alter table raw.{entity} rename to _empty_{entity}")
                swapped.append(entity)
                con.execute(f"create view raw.{entity} as select {select} from wh.raw.{entity}")
            yield
        finally:  # the in-memory tables back, also when a view could not be made
            for entity in swapped:
                con.execute(f"drop view if exists raw.{entity}")
                con.execute(f"alter table raw._empty_{entity} rename to {entity}")


def _dry_run_key(con, db, config: Config) -> bytes | None:
    """The pseudonym key, never created by a dry run (a throwaway one when none exists yet). A warehouse that keeps
    its key's fingerprint (copied into the dry run's ``con``) refuses another key or none, as its load would
    (``_warehouse_key``: the key file then exists, or the key comes from the environment)."""
    import os
    import secrets

    if not config.privacy.pseudonymise_customer_id:
        return None
    if con.execute("select count(*) from audit.pseudonym_key").fetchall()[0][0]:
        return _warehouse_key(con, db, config)
    env = os.environ.get(config.privacy.key_env)
    if env:
        return env.encode()
    key_file = key_path(db)
    return key_file.read_bytes().strip() if key_file.is_file() else secrets.token_hex(32).encode()


def dry_run(paths: list[str | Path], db: str | Path, config: Config, *, force: bool = False,
            examples: int = 3) -> dict:
    """``csqa load --dry-run``: read, validate and compare with the warehouse, write nothing.

    Returns per file what would load, be quarantined or be a duplicate, and the quarantine by check:
    the user's own column names, how many rows, and example values (redacted like the stored ones)."""
    files = expand_paths(paths)
    if not files:
        raise UsageError(f"no input files found in {', '.join(map(str, paths))}")
    with tempfile.TemporaryDirectory(prefix="csqa-dry-run-") as temp_dir:
        try:
            return _dry_run_report(files, db, config, force, examples, temp_dir)
        except duckdb.Error as e:  # staging or comparing (building the in-memory schema raises its own)
            raise WarehouseError(f"the dry run could not finish: {e}"
                                 + memory_hint(e, config.warehouse.memory_limit)) from e


def _dry_run_report(files: list[Path], db, config: Config, force: bool, examples: int, temp_dir: str) -> dict:
    con = _dry_run_connection(db, config, temp_dir)
    try:
        summary = _load(con, files, db, config, force, dry_run=True, key=_dry_run_key(con, db, config),
                        stage_dir=Path(temp_dir) / "stage")
        rows = con.execute(
            f"""select f.source_file, q.check_name, q.column_name, count(distinct q.row_number) as n,
                       list(q.failing_value order by q.row_number) filter (where q.failing_value is not null)
                           [1:{int(examples)}] as examples,
                       list(q.row_number order by q.row_number)[1:{int(examples)}] as row_numbers
                from stage_quarantine as q join batch_files as f using (_file_seq)
                group by all order by f.source_file, n desc, q.check_name"""
        ).fetchall() if _has_table(con, "stage_quarantine") else []
    finally:
        con.close()
    data = summary.as_dict()
    report = {k: data[k] for k in ("db", "files_loaded", "files_rejected", "files_skipped", "rows_read",
                                   "rows_loaded", "rows_quarantined", "rows_duplicate")}
    report["dry_run"] = True
    report["would_load"] = report.pop("rows_loaded")
    # a dry run does not compare the rows it ties with (load._upsert): no count of conflicts is given
    report["files"] = [{k: v for k, v in f.items() if k != "rows_conflicting"} for f in data["files"]]
    report["quarantine"] = [
        {"source_file": f, "check": c, "columns": col, "rows": n, "examples": list(ex or []),
         "row_numbers": list(rn or [])}
        for f, c, col, n, ex, rn in rows
    ]
    return report


def _has_table(con, name: str) -> bool:
    return bool(con.execute("select count(*) from duckdb_tables() where table_name = ?", [name]).fetchall()[0][0])


def render_dry_run(report: dict) -> str:
    lines = [f"dry run against {report['db']}: nothing was written"]
    for f in report["files"]:
        line = f"{f['status']:<9} {f['source_file']}"
        if f["status"] == "loaded":
            line = (f"would load {f['source_file']}  [{f['entity']}] read {f['rows_read']:,} "
                    f"new or changed {f['rows_loaded']:,} quarantined {f['rows_quarantined']:,} "
                    f"duplicate {f['rows_duplicate']:,}")
        elif f.get("error"):
            line += f"  {f['error']}"
        lines.append(line)
        for note in f.get("notes") or []:
            lines.append(f"    note: {note}")
    if report["quarantine"]:
        lines.append("would be quarantined, by check:")
        for q in report["quarantine"]:
            ex = ", ".join(repr(e) for e in q["examples"] if e is not None) or "(no value)"
            rn = ", ".join(str(r) for r in q["row_numbers"])
            col = f"column {q['columns']}" if q["columns"] else "the whole record"
            lines.append(f"  {q['rows']:>7,}  {check_label(q['check']):<{MAX_SHOWN}}  {col}  e.g. {ex} (rows {rn})")
    lines.append(f"total: {report['rows_read']:,} read, {report['would_load']:,} would load, "
                 f"{report['rows_quarantined']:,} quarantined, {report['rows_duplicate']:,} duplicate, "
                 f"{report['files_rejected']} file(s) rejected")
    return "\n".join(lines)
