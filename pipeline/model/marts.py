"""Refreshing staging and marts, inside the load's transaction.

Order: tables derived from the configuration (``staging.settings``, ``staging.sla_targets``,
``staging.business_calendar``, ``staging.duration_buckets``), then the views in ``sql/staging``,
then each model in ``sql/marts`` in file order.

Each mart file's second line says how it refreshes:

- ``-- refresh: by interaction_id``: rows of the interactions in ``staging.refresh_interactions``
  are deleted and recomputed;
- ``-- refresh: by created_day``: rows of the days in ``staging.refresh_days`` are deleted and
  recomputed (the model filters on that table itself); an incremental refresh updates the counts of
  ``response_time_buckets`` by the scope's change instead (``_BY_DELTA``: minus the scope's rows as the fact
  table held them, plus its new rows), which equals a recount;
- ``-- refresh: by resolved_day``: the same, for the resolved days of the interactions in scope
  (``staging.refresh_resolved_days``, before and after);
- ``-- refresh: full``: rebuilt whole (small outputs, or small inputs: ``backlog_daily`` reads two daily
  rollups, not the fact table).

What changed decides the scope: the interactions this batch inserted or changed, those whose
messages or surveys changed, and every open interaction whose SLA is still running (its clock moves
with the as-of time; one already breached stays breached). The days are the created days of those
interactions, before and after. A first build, a changed configuration or SQL, or a changed FAQ
catalogue rebuilds everything, as does ``full=True``.

An incremental refresh reads the scope's raw rows once (every read of the scope views would filter every stored
interaction by id) and the scope's rows of the fact table once (their days, their questions for the FAQ samples
kept in ``faq_samples``, and their row ids for the fact table's delete). ``staging.faq_matches`` holds the
matches of the last refresh's scope (every interaction after a full one); the fact table keeps every match.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import logging
import re
import threading
import time

import duckdb
import numpy as np
import pandas as pd

from ..config import Config
from . import faq_samples, lookup, repeat_contacts
from .business_time import calendar_frame
from .warehouse import schema_version, sql_files, table_exists

log = logging.getLogger(__name__)

# the last edge stands for "longer": far beyond any duration (31 million years)
BUCKET_EDGES = [0, 30, 60, 120, 180, 300, 600, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 12 * 3600,
                24 * 3600, 48 * 3600, 72 * 3600, 7 * 86400, 14 * 86400, 30 * 86400, 1e15]


def duration_bucket_case(seconds: str) -> str:
    """The bucket of a duration (the SQL expression ``seconds``): the upper edge of the bucket of
    ``staging.duration_buckets`` that holds it (``lower_seconds <= seconds < upper_seconds``), null for a negative
    duration, none, or one beyond the last edge. DuckDB's refresh reads it as the macro
    ``staging.duration_bucket_upper`` (written with the buckets), and the Spark engine inlines it
    (pipeline/spark/dialect.py): both from these edges."""
    whens = " ".join(f"when {seconds} < {int(e)} then cast({int(e)} as double)" for e in BUCKET_EDGES[1:])
    return f"case when {seconds} < {int(BUCKET_EDGES[0])} then null {whens} end"
# The physical order the fact table's rows are written in: the rows the next refresh will delete and rewrite
# (open SLA clocks, untimed rows) last, the rest by created day. DuckDB's commit rewrites every row group a
# delete touches, so deletes scattered over the whole table made each nightly commit cost the table's size;
# kept together at the end they touch a few row groups. The day order also lets the rollups' and the
# dashboard's day filters skip row groups.
_RECOMPUTED = """coalesce((not is_resolved and (first_response_sla_status = 'open'
                                                    or resolution_sla_status = 'open'))
                                or first_response_sla_status = 'unknown' or resolution_sla_status = 'unknown',
                                false)"""
_WRITE_ORDER = {
    "fct_interactions": f"{_RECOMPUTED}, created_day, created_at",
}
# the views over the refresh scope's raw rows (sql/staging): an incremental refresh points them at the rows read
# once (each read of them scans every stored interaction id; the fact table's join read every column of the raw
# table for it), a full build in slices at each slice's rows
_RAW_SCOPE_VIEWS = ("raw_interactions_in_scope", "raw_interactions_scope_join")
# the views over the messages and surveys of the refresh scope's interactions (sql/staging): an incremental refresh
# points them at those rows read once (_scope_events), with the fact columns that bound their send times
_EVENT_SCOPE_VIEWS = {"raw_messages_in_scope": ("raw.messages", "message"),
                      "raw_csat_surveys_in_scope": ("raw.csat_surveys", "survey")}
# marts an incremental refresh updates by the scope's change (key columns, count column): each counts fact rows of
# the refreshed days, so the counts of the scope's rows as the fact table held them are subtracted and those of its
# new rows added, instead of recounting every row of those days (the open interactions' 15 days: 400,000 rows for a
# scope of 22,000 changed ones at 10M)
_BY_DELTA = {
    "response_time_buckets": (("created_day", "channel", "metric", "basis", "bucket_upper_seconds"),
                              ("count_interactions",)),
    # several counts: the first counts the key's rows (the others never exceed it), a key whose rows are gone goes
    "kpi_daily": (("created_day", "channel", "language", "region", "team"),
                  ("count_interactions", "count_resolution_met", "count_resolution_breached", "count_reopened",
                   "count_reopen_eligible", "count_one_touch", "count_one_touch_eligible", "count_first_response_met",
                   "count_first_response_breached", "count_sla_unknown", "count_rated", "count_satisfied")),
}
# the fact table's columns they read, kept for the scope's rows before and after
_DELTA_COLUMNS = ("created_day, channel, first_response_seconds, first_response_business_seconds, resolution_seconds, "
                  "resolution_business_seconds, region, team, reopen_count, is_resolved, is_one_touch, "
                  "first_response_sla_status, resolution_sla_status, csat_score, is_satisfied")
# (language too: the scope's rows before keep it already, for the FAQ samples)
# and the columns of the scope's new rows the repeat contacts read (repeat_contacts.py)
_AFTER_COLUMNS = "interaction_id, customer_id, topic, created_at"
# the fact table's rows that are _RECOMPUTED, with their row ids, found through filters DuckDB checks against each
# row group's zone map: a status compared with one column at a time (_RECOMPUTED alone, an OR over three columns,
# reads every row; it implies one of the two statuses); the open rows are the last written (_WRITE_ORDER), so two
# of 90 row groups at 10M
_OPEN_ROWS = f"""select * from (
    select rowid as _rowid, * from marts.fct_interactions
    where first_response_sla_status in ('open', 'unknown')
    union all
    select rowid as _rowid, * from marts.fct_interactions
    where resolution_sla_status in ('open', 'unknown')
      and not coalesce(first_response_sla_status in ('open', 'unknown'), false))
    where {_RECOMPUTED}"""
# how such a mart reads the fact table: replaced by the scope's rows before and after
_FACT_OF_DAYS = """select * from marts.fct_interactions
    where created_day in (select day from staging.refresh_days)"""
# A full build of a table with a write order runs in slices of this many interactions (by created_at), each
# sorted in memory: one ORDER BY over every wide row of 1M interactions spilled ~1 GB at the default 768 MB limit
# and cost half the fact table's first build (``_build_in_slices``). Two of DuckDB's row groups (122,880 rows):
# a slice that fills whole row groups leaves none part-filled for the checkpoint to rewrite.
_SLICE_ROWS = 2 * 122_880
_REFRESH_RE = re.compile(r"^--\s*refresh:\s*(full|by\s+(\w+))\s*$", re.M)


def config_hash(config: Config) -> str:
    """What the marts depend on besides the data: the configuration and the SQL itself. When it
    changes, the next refresh rebuilds everything."""
    sql = {f.name: f.read_text(encoding="utf-8") for layer in ("staging", "marts", "macros")
           for f in _model_files(layer)}
    dumped = config.model_dump(include={"channels", "schedules", "csat", "first_response", "faq", "contract"})
    relevant = {"sql": sql, "tz": config.warehouse.reporting_timezone, **dumped}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def _model_files(layer: str):
    return sql_files(layer)


def mart_models() -> list[tuple[str, str, str | None, str]]:
    """(table name, refresh mode, key column, select sql) for each file in sql/marts."""
    out = []
    for f in _model_files("marts"):
        text = f.read_text(encoding="utf-8")
        m = _REFRESH_RE.search(text)
        if not m:
            raise ValueError(f"{f.name}: second line must say '-- refresh: full' or '-- refresh: by <column>'")
        name = f.name.removesuffix(".sql").split("_", 1)[1]
        mode = "full" if m.group(1) == "full" else "by"
        out.append((name, mode, m.group(2), text))
    return out


def config_frames(config: Config) -> dict[str, pd.DataFrame]:
    """The tables the SQL reads from the configuration: ``sla_targets``, ``status_classes``,
    ``duration_buckets`` (both engines build them from here)."""
    rows = []
    for name, ch in config.channels.items():
        for prio in config.contract.priorities:
            t = ch.target(prio)
            rows.append((name, ch.label, prio, ch.schedule, config.schedules[ch.schedule].is_always_open,
                         t.first_response_minutes * 60 if t.first_response_minutes else None,
                         t.resolution_hours * 3600 if t.resolution_hours else None))
    targets = pd.DataFrame(rows, columns=["channel", "channel_label", "priority", "schedule", "is_always_open",
                                          "first_response_target_seconds", "resolution_target_seconds"])
    # what each configured status means: the SQL reads the class, never a status name
    classes = pd.DataFrame(list(config.contract.status_class_of().items()), columns=["status", "status_class"])
    buckets = pd.DataFrame({"lower_seconds": BUCKET_EDGES[:-1], "upper_seconds": BUCKET_EDGES[1:]}).astype(float)
    return {"sla_targets": targets, "status_classes": classes.astype("str"), "duration_buckets": buckets}


def _write_config_tables(con: duckdb.DuckDBPyConnection, config: Config) -> None:
    for name, frame in config_frames(config).items():
        con.register("_frame", frame)
        con.execute(f"create or replace table staging.{name} as select * from _frame")
        con.unregister("_frame")
    con.execute(f"create or replace macro staging.duration_bucket_upper(seconds) as {duration_bucket_case('seconds')}")


# (first timestamp, last timestamp[, as-of time]) of interactions, message events and surveys: one scan each
BOUNDS_SQL = (
    """select min(created_at),
              greatest(max(updated_at), max(resolved_at), max(first_response_at), max(created_at)),
              greatest(max(updated_at), max(created_at))
       from raw.interactions""",
    "select min(sent_at), max(sent_at) from raw.messages",
    "select min(sent_at), greatest(max(sent_at), max(responded_at)) from raw.csat_surveys",
)


def combine_bounds(interactions, messages, surveys) -> tuple:
    """(first timestamp, last timestamp, as-of time) from the rows of ``BOUNDS_SQL``."""
    los = [t for t in (interactions[0], messages[0], surveys[0]) if t is not None]
    his = [t for t in (interactions[1], messages[1], surveys[1]) if t is not None]
    return (min(los) if los else None), (max(his) if his else None), interactions[2]


def _widen(kept: tuple, batch: tuple) -> tuple:
    """Kept bounds (first, last[, as-of]) widened by a batch's: the earlier first, the later last and as-of; a
    None (no rows) left out."""
    out = []
    for pick, k, b in zip((min, max, max), kept, batch, strict=False):
        values = [v for v in (k, b) if v is not None]
        out.append(pick(values) if values else None)
    return tuple(out)


_BOUNDS_TABLES = ("raw.interactions", "raw.messages", "raw.csat_surveys")
# each raw table's bounds (BOUNDS_SQL's row, padded to three) and row count as of the last refresh, with the schema
# version they were read under
_BOUNDS_STATE = "staging.data_bounds"


def _data_bounds(con: duckdb.DuckDBPyConnection, batch_id: int | None = None) -> tuple:
    """(first timestamp, last timestamp, as-of time) of every timestamp the marts read.

    Each raw table's extremes are kept in ``staging.data_bounds`` by every refresh. When a table holds exactly its
    kept rows plus this batch's (its count is the kept count plus the batch's rows: only a load's upsert writes raw
    rows, and it deleted none, so every kept row is as it was), its bounds are the kept ones combined with the
    batch's rows' (found by ``_batch_id``, whose zone maps skip the older rows) instead of a scan of every stored
    row; otherwise (a row replaced, a new schema version, no state) the table is scanned."""
    version = schema_version(con)
    kept = {}
    if batch_id is not None and table_exists(con, *_BOUNDS_STATE.split(".")):
        kept = {t: (b0, b1, b2, n) for t, b0, b1, b2, n in con.execute(
            f"select table_name, b0, b1, b2, row_count from {_BOUNDS_STATE} where schema_version = ?",
            [version]).fetchall()}
    rows, counts = [], []
    for table, sql in zip(_BOUNDS_TABLES, BOUNDS_SQL, strict=True):
        n = con.execute(f"select count(*) from {table}").fetchall()[0][0]
        if table in kept:
            bounds = con.execute(f"select *, (select count(*) from {table} where _batch_id = $b) from ({sql} "
                                 f"where _batch_id = $b)", {"b": batch_id}).fetchall()[0]
            if kept[table][3] + bounds[-1] == n:
                rows.append(_widen(kept[table][:3], bounds[:-1]))
                counts.append(n)
                log.debug("data bounds of %s: kept, widened by batch %s", table, batch_id)
                continue
        rows.append(con.execute(sql).fetchall()[0])
        log.debug("data bounds of %s: scanned", table)
        counts.append(n)
    con.execute(f"""create or replace table {_BOUNDS_STATE} (table_name varchar, b0 timestamptz, b1 timestamptz,
                    b2 timestamptz, row_count bigint, schema_version integer)""")
    con.executemany(f"insert into {_BOUNDS_STATE} values (?, ?, ?, ?, ?, ?)",
                    [(t, *(*r, None, None)[:3], n, version)
                     for t, r, n in zip(_BOUNDS_TABLES, rows, counts, strict=True)])
    return combine_bounds(*rows)


def calendar_range(lo, hi) -> tuple[dt.date, dt.date]:
    """The calendar's first and last day: a week before the first timestamp to 60 days after the last one."""
    today = dt.datetime.now(dt.UTC).date()
    start = (lo.date() if lo else today) - dt.timedelta(days=7)
    end = max((hi.date() if hi else today), start) + dt.timedelta(days=60)
    return start, end


def _write_calendar(con: duckdb.DuckDBPyConnection, config: Config, lo, hi) -> None:
    """The open intervals from a week before the first timestamp to 60 days after the last one (of
    interactions, messages and surveys). Its range is kept in staging.business_calendar_range so a later
    load with earlier or later data rebuilds it (durations are clock differences: they stay valid)."""
    start, end = calendar_range(lo, hi)
    used = {ch.schedule for ch in config.channels.values()}
    cal = calendar_frame({k: v for k, v in config.schedules.items() if k in used}, start, end)
    con.register("_cal", cal)
    con.execute("create or replace table staging.business_calendar as select * from _cal order by schedule, open_at")
    con.unregister("_cal")
    con.execute("create or replace table staging.business_calendar_range as select ?::date as first_day, "
                "?::date as last_day", [start, end])


_SETTINGS_COLUMNS = """reporting_timezone varchar, satisfied_threshold integer, min_sample integer,
               count_bot_replies boolean, count_private_notes boolean, as_of_at timestamptz,
               config_hash varchar, faq_window_days integer, faq_deflection_weeks integer,
               faq_low_csat_margin double"""


def _settings_values(config: Config, as_of, config_digest: str) -> list:
    return [config.warehouse.reporting_timezone, config.csat.satisfied_threshold, config.csat.min_sample,
            config.first_response.count_bot_replies, config.first_response.count_private_notes, as_of,
            config_digest, config.faq.window_days, config.faq.deflection_weeks, config.faq.low_csat_margin]


def settings_frame(config: Config, as_of, config_digest: str) -> pd.DataFrame:
    """staging.settings as a one-row frame (the Spark engine's copy of ``_write_settings``)."""
    names = [c.split()[0] for c in _SETTINGS_COLUMNS.split(",")]
    df = pd.DataFrame([_settings_values(config, as_of, config_digest)], columns=names)
    df["as_of_at"] = pd.to_datetime(df["as_of_at"], utc=True).astype("datetime64[us, UTC]")
    return df.astype({"satisfied_threshold": "int32", "min_sample": "int32", "faq_window_days": "int32",
                      "faq_deflection_weeks": "int32", "faq_low_csat_margin": "float64"})


def _write_settings(con: duckdb.DuckDBPyConnection, config: Config, as_of, config_digest: str) -> None:
    """staging.settings: one row of what the SQL models read, and the hash that decides a rebuild."""
    con.execute(f"create or replace table staging.settings ({_SETTINGS_COLUMNS})")
    con.execute("insert into staging.settings values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _settings_values(config, as_of, config_digest))


def _calendar_covers(con, lo, hi) -> bool:
    """Whether the calendar spans a day before the first timestamp to a week after the last one."""
    if not all(table_exists(con, "staging", t) for t in ("business_calendar", "business_calendar_range")):
        return False
    if lo is None:
        return True
    first, last = con.execute("select first_day, last_day from staging.business_calendar_range").fetchall()[0]
    return first <= lo.date() - dt.timedelta(days=1) and last >= hi.date() + dt.timedelta(days=7)


def refresh(con: duckdb.DuckDBPyConnection, config: Config, *, batch_id: int | None = None,
            full: bool = False, moved: str | None = None) -> dict:
    """Bring staging and marts up to date. Returns timings and the scope that was refreshed. ``moved``: a table of
    the interactions the batch took stored rows from (a survey's new version naming another interaction:
    ingest/load.py, MOVED), refreshed with the batch's own."""
    t0 = time.perf_counter()
    prev_hash = prev_as_of = None
    if table_exists(con, "staging", "settings"):
        prev_hash, prev_as_of = con.execute("select config_hash, as_of_at from staging.settings").fetchall()[0]
    new_hash = config_hash(config)
    marts_exist = all(table_exists(con, "marts", name) for name, *_ in mart_models())
    # why everything is rebuilt (in the refresh's info: a load names a changed configuration, docs/OPERATIONS.md)
    rebuilt = "requested" if full or batch_id is None else None
    if prev_hash is None or not marts_exist:
        rebuilt = "first build"
    elif prev_hash != new_hash:
        rebuilt = "configuration or SQL changed"
    elif not rebuilt and con.execute("select count(*) from raw.faq_articles where _batch_id = ?",
                                     [batch_id]).fetchall()[0][0]:
        rebuilt = "FAQ catalogue changed"  # every question may match a different article now
    full = rebuilt is not None
    _write_config_tables(con, config)
    lo, hi, as_of = _data_bounds(con, None if full else batch_id)
    if not full and prev_as_of is not None and as_of is not None and as_of < prev_as_of:
        # the as-of time moved back (a row dated in the future replaced: ingest/load.py, _not_future): a stored
        # verdict of a running clock (breached against the later as-of time) may no longer hold, and an incremental
        # scope recomputes only the rows still open or unknown (the bounds were scanned: only a replaced row moves
        # the as-of time back, and _data_bounds scans a table whose count is not its kept one plus the batch's)
        rebuilt, full = "as-of time moved back", True
    # stored durations are differences of the clock, so a calendar that grows keeps them valid
    if full or not _calendar_covers(con, lo, hi):
        _write_calendar(con, config, lo, hi)
    _write_settings(con, config, as_of, new_hash)
    # the matches of this refresh's scope (every interaction in a full one): the fact table keeps every
    # interaction's match, so the rows of earlier scopes need not be kept (nor deleted row by row)
    con.execute(
        """create or replace table staging.faq_matches (
               interaction_id varchar, faq_article_id varchar, faq_topic varchar,
               faq_match_score double, is_topic_confident boolean, is_faq_matched boolean)"""
    )
    # the refresh scope: the intermediate views read only these interactions
    con.execute("create or replace table staging.refresh_interactions (interaction_id varchar)")
    if full:
        con.execute("insert into staging.refresh_interactions select interaction_id from raw.interactions")
    else:
        # the interactions the batch wrote rows of, and those whose clock still runs (open) or could not be
        # timed (unknown: retried, so a grown calendar repairs them): their rows as the fact table holds them (the
        # last refresh's view of them), read once for their days, their questions (the FAQ samples' change) and the
        # fact table's delete. In two parts, neither comparing every stored id with the open ones: the open rows
        # (found through the zone maps of their status), and the rows of the batch's interactions that are not open
        # (their ids alone compared, within the range of the batch's ids given as constants: DuckDB then skips every
        # row group whose zone map of interaction_id lies outside it, e.g. all but the newest when ids grow with time)
        con.execute(
            """create or replace temp table _batch_ids as
               select interaction_id from raw.interactions where _batch_id = $b
               union select interaction_id from raw.messages where _batch_id = $b
               union select interaction_id from raw.csat_surveys where _batch_id = $b"""
            + (f" union select interaction_id from {moved}" if moved else ""),
            {"b": batch_id},
        )
        lo, hi = con.execute("select min(interaction_id), max(interaction_id) from _batch_ids").fetchall()[0]
        before_columns = f"""_rowid, interaction_id, created_day, resolved_day, agent_topic as topic, first_message,
                             subject, language, created_at, customer_id, topic as fct_topic, {_DELTA_COLUMNS},
                             {", ".join(f"first_{k}_sent_at, last_{k}_sent_at" for _, k in _EVENT_SCOPE_VIEWS.values())}
                             """
        con.execute(
            f"""create or replace temp table _scope_before as
               select {before_columns} from ({_OPEN_ROWS})
               union all
               select {before_columns} from (select rowid as _rowid, * from marts.fct_interactions
                                             where interaction_id between $lo and $hi
                                               and interaction_id in (select interaction_id from _batch_ids))
               where not {_RECOMPUTED}""",
            {"lo": lo, "hi": hi},
        )
        con.execute("""insert into staging.refresh_interactions
                       select interaction_id from _batch_ids union select interaction_id from _scope_before""")
        con.execute("drop table _batch_ids")
    for f in _model_files("staging"):
        con.execute(f.read_text(encoding="utf-8"))
    scope_views = []
    if not full:
        # the scope's raw rows, read once: every read of the view filters every stored interaction by id, and
        # the scope's staging views are read several times (days, FAQ samples and matches, the fact table);
        # the view's own definition is put back at the end
        scope_views = con.execute(
            "select sql from duckdb_views() where schema_name = 'staging' and view_name in "
            f"{(*_RAW_SCOPE_VIEWS, *_EVENT_SCOPE_VIEWS)}"
        ).fetchall()
        # the rows this batch loaded (found by their batch id), and the other interactions of the scope: their raw
        # rows are unchanged since the refresh that wrote their fact rows (only a batch writes raw rows, and its
        # refresh rewrites their fact rows), so their creation times are the fact rows', and rows created before
        # the earliest of them are skipped by the raw table's zone maps instead of having their ids compared; when
        # a scope interaction has neither (a message or survey of an interaction never loaded) every id is compared
        since, missing = con.execute(
            """with loaded as (select interaction_id from raw.interactions where _batch_id = $b)
               select (select min(created_at) from _scope_before
                       where interaction_id not in (select interaction_id from loaded)),
                      (select count(*) from (select interaction_id from staging.refresh_interactions
                                             except select interaction_id from loaded
                                             except select interaction_id from _scope_before))""",
            {"b": batch_id},
        ).fetchall()[0]
        bounded = not missing and since is not None
        con.execute(
            f"""create or replace temp table _raw_scope as
                select * from raw.interactions where _batch_id = $b
                union all
                select * from raw.interactions
                where _batch_id <> $b and interaction_id in (select interaction_id from staging.refresh_interactions)
                {"and created_at >= $since" if bounded else ""}""",
            {"b": batch_id, "since": since} if bounded else {"b": batch_id},
        )
        for view in _RAW_SCOPE_VIEWS:
            con.execute(f"create or replace view staging.{view} as select * from _raw_scope")
        _scope_events(con, batch_id)
    # the created and resolved days of the scope, before (the fact table) and after (staging): one pass each
    con.execute(
        """create or replace temp table _scope_days as
           select created_day, resolved_day from staging.stg_interactions_in_scope"""
        + ("" if full else " union all select created_day, resolved_day from _scope_before")
    )
    con.execute("create or replace table staging.refresh_days as select distinct created_day as day from _scope_days")
    # marts refreshed by resolved_day
    con.execute("create or replace table staging.refresh_resolved_days as "
                "select distinct resolved_day as day from _scope_days where resolved_day is not null")
    con.execute("drop table _scope_days")
    scope = con.execute(
        "select (select count(*) from staging.refresh_interactions), (select count(*) from staging.refresh_days)"
    ).fetchall()[0]
    timings = {}
    tm = time.perf_counter()
    max_tagged = config.faq.max_tagged_per_topic
    samples = "updated"
    repeats = None
    if full or not faq_samples.exists(con) or not faq_samples.update(
            con, max_tagged, after="staging.stg_interactions_in_scope", before="_scope_before"):
        faq_samples.rebuild(con, max_tagged)
        samples = "rebuilt"
    model = _match_questions(con, config, full)
    timings["faq_matches"] = round(time.perf_counter() - tm, 3)
    for name, mode, key, sql in mart_models():
        if name == "faq_gaps":  # clusters, built in Python, feed the gap ranking
            tm = time.perf_counter()
            _build_clusters(con, config, as_of, model)
            timings["faq_clusters"] = round(time.perf_counter() - tm, 3)
        tm = time.perf_counter()
        table = f"marts.{name}"
        if full and name in _WRITE_ORDER and scope[0] > _SLICE_ROWS:
            _build_in_slices(con, table, sql, _WRITE_ORDER[name])
            timings[name] = round(time.perf_counter() - tm, 3)
            continue
        if name in _WRITE_ORDER:
            sql = f"select * from ({sql}) order by {_WRITE_ORDER[name]}"
        if name == "faq_coverage":  # its repeat contacts kept by the scope's change, not recomputed over the window
            sql, repeats = repeat_contacts.refresh(con, sql, full=full)
        if full or mode == "full":  # not full: every mart exists
            con.execute(f"create or replace table {table} as {sql}")
        else:
            if key == "interaction_id":  # the fact table, the one mart by interaction: its scope's rows were
                # found once above (a second look-up by id would scan every stored id); its new rows are kept
                # for the marts refreshed by their change
                con.execute(f"delete from {table} where rowid in (select _rowid from _scope_before)")
                after = con.sql(f"insert into {table} by name {sql} returning language, {_DELTA_COLUMNS}, "
                                f"{_AFTER_COLUMNS}"
                                ).to_arrow_table()
                con.register("_after", after)
                con.execute("create or replace temp table _scope_after as select * from _after")
                con.unregister("_after")
            elif not (name in _BY_DELTA and _refresh_by_delta(con, table, sql, *_BY_DELTA[name])):
                days = "refresh_resolved_days" if key == "resolved_day" else "refresh_days"
                con.execute(f"delete from {table} where {key} in (select day from staging.{days})")
                con.execute(f"insert into {table} by name {sql}")
        timings[name] = round(time.perf_counter() - tm, 3)
    tm = time.perf_counter()  # each interaction's created day by its id's hash, kept with the fact table
    looked_up = lookup.refresh(con, full=full, before="_scope_before", after="_scope_after")
    timings["interaction_lookup"] = round(time.perf_counter() - tm, 3)
    if not full:
        con.execute("drop table _scope_before")
        con.execute("drop table if exists _scope_after")
        for (view_sql,) in scope_views:
            con.execute(view_sql.replace("CREATE VIEW", "CREATE OR REPLACE VIEW", 1))
        con.execute("drop table _raw_scope")
        for view in _EVENT_SCOPE_VIEWS:
            con.execute(f"drop table _{view}")
    _write_macros(con)
    info = {"full": full, "rebuilt": rebuilt, "interactions": scope[0], "days": scope[1],
            "seconds": round(time.perf_counter() - t0, 3),
            "models": timings, "faq_samples": samples, "repeat_contacts": repeats, "interaction_lookup": looked_up}
    log.info("marts refreshed: %s", info)
    return info


def _refresh_by_delta(con: duckdb.DuckDBPyConnection, table: str, sql: str, keys: tuple[str, ...],
                      counts: tuple[str, ...]) -> bool:
    """Add the counts of the scope's new fact rows (``_scope_after``) to ``table`` and subtract those of its rows as
    the fact table held them (``_scope_before``); a key whose count (the first, with several) reaches 0 is removed,
    as a recount would have no row for it. False (nothing written) if a count would go negative: the caller
    recounts the days instead."""
    if _FACT_OF_DAYS not in sql:
        raise ValueError(f"{table}: refreshed by its change, so it must read the fact table as {_FACT_OF_DAYS!r}")
    k = ", ".join(keys)
    cs = ", ".join(counts)
    after, before = (sql.replace(_FACT_OF_DAYS, f"select * from {src}") for src in ("_scope_after", "_scope_before"))
    con.execute(
        f"""create or replace temp table _delta as
            select {k}, {", ".join(f"sum({c}) as {c}" for c in counts)}
            from (select {k}, {cs} from ({after})
                  union all select {k}, {", ".join(f"-{c}" for c in counts)} from ({before}))
            group by all having {" or ".join(f"sum({c}) <> 0" for c in counts)}"""
    )
    on = " and ".join(f"t.{c} is not distinct from d.{c}" for c in keys)
    con.execute(
        f"""create or replace temp table _merged as
            select {", ".join(f"d.{c}" for c in keys)},
                   {", ".join(f"coalesce(t.{c}, 0) + d.{c} as {c}" for c in counts)}, t.rowid as _rowid
            from _delta as d left join {table} as t on {on}"""
    )
    ok = not con.execute(f"select count(*) from _merged where {' or '.join(f'{c} < 0' for c in counts)}"
                         ).fetchall()[0][0]
    if ok:
        con.execute(f"delete from {table} where rowid in (select _rowid from _merged where _rowid is not null)")
        con.execute(f"insert into {table} by name select {k}, {cs} from _merged where {counts[0]} > 0")
    else:  # pragma: no cover  (the mart and the fact table disagree: never seen)
        log.warning("%s: the scope's change would make a count negative; recounting its days", table)
    con.execute("drop table _delta")
    con.execute("drop table _merged")
    return ok


def _scope_events(con: duckdb.DuckDBPyConnection, batch_id: int) -> None:
    """An incremental refresh's messages and surveys of the scope's interactions, read once into ``_<view>`` and
    the views of ``_EVENT_SCOPE_VIEWS`` pointed at them: each read of the views compared every stored event's
    interaction id with the scope's (three reads of ``raw.messages`` per refresh, each the table's size). Three
    parts, each found through zone maps rather than every stored id:

    - the batch's own rows (by their batch id: the newest row groups);
    - the stored rows of the scope's interactions that have a fact row (``_scope_before``), within the send times
      those rows hold (``_event_windows``): every stored event of such an interaction was counted into its fact
      row (events are only written by a batch, and a batch puts their interactions in its scope), so none lies
      outside; the events are written in send-time order (ingest/load.py), so only the row groups of those times
      are read;
    - the stored rows of the other scope interactions (new in this batch, or never refreshed: their events may
      have come first), within the range of their ids given as constants (all but the newest row groups skipped
      when ids grow with time)."""
    con.execute("""create or replace temp table _scope_new_ids as
                   select interaction_id from staging.refresh_interactions
                   except select interaction_id from _scope_before""")
    new_lo, new_hi = con.execute("select min(interaction_id), max(interaction_id) from _scope_new_ids").fetchall()[0]
    for view, (table, kind) in _EVENT_SCOPE_VIEWS.items():
        parts = [f"""select * from {table} where _batch_id = $b
                     and interaction_id in (select interaction_id from staging.refresh_interactions)"""]
        params: dict = {"b": batch_id}
        for i, (lo, hi) in enumerate(_event_windows(con, kind)):  # disjoint: no row is read twice
            parts.append(f"""select * from {table} where _batch_id <> $b and sent_at between $lo{i} and $hi{i}
                             and interaction_id in (select interaction_id from _scope_before)""")
            params |= {f"lo{i}": lo, f"hi{i}": hi}
        if new_lo is not None:
            parts.append(f"""select * from {table} where _batch_id <> $b and interaction_id between $lo and $hi
                             and interaction_id in (select interaction_id from _scope_new_ids)""")
            params |= {"lo": new_lo, "hi": new_hi}
        con.execute(f"create or replace temp table _{view} as " + "\nunion all\n".join(parts), params)
        con.execute(f"create or replace view staging.{view} as select * from _{view}")
    con.execute("drop table _scope_new_ids")


# the windows of send time the scope's stored events are read in: the fact rows' [first, last] spans, merged where
# they overlap or lie within a day of each other, then the closest merged until at most this many are left (one
# scan of the events each); one window from the earliest to the latest would read every day between an old open
# ticket and today
_EVENT_WINDOWS = 8


def _event_windows(con: duckdb.DuckDBPyConnection, kind: str) -> list[tuple]:
    """Disjoint (lo, hi) send-time windows covering every ``[first_<kind>_sent_at, last_<kind>_sent_at]`` of the
    scope's fact rows (``_scope_before``), at most ``_EVENT_WINDOWS``, in order."""
    spans = con.execute(f"""
        with spans as (
            select first_{kind}_sent_at as lo, last_{kind}_sent_at as hi from _scope_before
            where first_{kind}_sent_at is not null
        ),
        reach as (  -- the latest end of the spans before each one (by start)
            select lo, hi, max(hi) over (order by lo, hi rows between unbounded preceding and 1 preceding) as before
            from spans
        ),
        islands as (
            select lo, hi, count(*) filter (where before is null or lo > before + interval 1 day)
                               over (order by lo, hi rows unbounded preceding) as island
            from reach
        )
        select min(lo), max(hi) from islands group by island order by 1""").fetchall()
    if len(spans) <= _EVENT_WINDOWS:
        return spans
    # the closest joined: cut only at the _EVENT_WINDOWS - 1 widest gaps (the islands are disjoint and in order)
    widest = sorted(range(len(spans) - 1), key=lambda j: spans[j + 1][0] - spans[j][1])[len(spans) - _EVENT_WINDOWS:]
    starts = [0, *sorted(j + 1 for j in widest)]
    return [(spans[a][0], spans[b - 1][1]) for a, b in itertools.pairwise([*starts, len(spans)])]


def _build_in_slices(con: duckdb.DuckDBPyConnection, table: str, sql: str, order: str) -> None:
    """A full build (every stored interaction in scope) of the fact table in its write order ``order`` (which starts
    with ``_RECOMPUTED``), slice by slice: the interactions of each slice of created_at (about ``_SLICE_ROWS`` of
    them) are computed and sorted on their own, in memory, and appended; the rows the next refresh recomputes
    (``_RECOMPUTED``) are left out of every slice and appended last, sorted. The table ends up in the order one
    ORDER BY gives (created_day follows created_at), with the same rows. The slices are cut at every
    ``_SLICE_ROWS``-th interaction by created_at, so that each slice (but those with rows left for the end, and
    where created_at ties at a cut) appends whole row groups: the appends of 250,000 rows each ended in a
    part-filled row group, and the load's closing checkpoint rewrote the runs of them (1.3-1.9 s at 1M; half the
    fact table's blocks).

    While it runs, the scope is each slice's: ``staging.refresh_interactions`` is set aside and a view of that name
    stands in for it, and the views over the raw rows in scope filter raw.interactions on created_at, so each slice
    reads its own part of the table rather than looking every stored interaction up by id (nor rewrites the scope
    table: deleting and refilling it in the load's transaction cost ~1 s more at commit). All are put back at the
    end."""
    views = {v: con.execute("select sql from duckdb_views() where schema_name = 'staging' and view_name = ?",
                            [v]).fetchall()[0][0] for v in _RAW_SCOPE_VIEWS}
    cuts = _slice_cuts(con)
    con.execute(f"create or replace table {table} as select * from ({sql}) limit 0")
    con.execute("alter table staging.refresh_interactions rename to _refresh_interactions_full")
    bounds = [None, *sorted(set(cuts)), None]
    for lo, hi in itertools.pairwise(bounds):
        cond = " and ".join([f"created_at {op} '{ts.isoformat()}'::timestamptz"
                             for op, ts in ((">=", lo), ("<", hi)) if ts is not None]) or "created_at is not null"
        within = f"select * from raw.interactions where {cond}"
        con.execute(f"create or replace view staging.refresh_interactions as select interaction_id from ({within})")
        for v in _RAW_SCOPE_VIEWS:
            con.execute(f"create or replace view staging.{v} as {within}")
        con.execute(f"insert into {table} select * from ({sql}) where not {_RECOMPUTED} "
                    "order by created_day, created_at")
    for v in _RAW_SCOPE_VIEWS:
        con.execute(views[v].replace("CREATE VIEW", "CREATE OR REPLACE VIEW", 1))
    # the rows no slice took: those the next refresh recomputes (and any without a created_at)
    con.execute("create or replace temp table _refresh_rest as select interaction_id from raw.interactions "
                f"anti join {table} using (interaction_id)")
    con.execute("create or replace view staging.refresh_interactions as select interaction_id from _refresh_rest")
    con.execute(f"insert into {table} select * from ({sql}) order by {order}")
    con.execute("drop view staging.refresh_interactions")
    con.execute("drop table _refresh_rest")
    con.execute("alter table staging._refresh_interactions_full rename to refresh_interactions")


def _slice_cuts(con: duckdb.DuckDBPyConnection) -> list:
    """Where the full build's slices start (but the first): the created_at of every ``_SLICE_ROWS``-th stored
    interaction after the first ``_SLICE_ROWS`` (by created_at), so that each slice holds exactly ``_SLICE_ROWS``
    of them where created_at does not tie at a cut; the last slice takes the rest, with a last eighth of a slice
    or less added to it."""
    n = con.execute("select count(created_at) from raw.interactions").fetchall()[0][0]
    # DuckDB's quantile_disc(q) over n values is the one at 0-based position floor(q * n): q = (i + 0.5) / n is
    # position i whichever way it rounds (one aggregate, as the cuts at quantiles were: no sort of the column)
    starts = list(range(_SLICE_ROWS, n, _SLICE_ROWS))
    if starts and n - starts[-1] < _SLICE_ROWS // 8:  # a short last slice joins the one before (its fixed costs)
        starts.pop()
    qs = [(i + 0.5) / n for i in starts]
    if not qs:
        return []
    return con.execute("select quantile_disc(created_at, ?) from raw.interactions", [qs]).fetchall()[0][0]


def warm_up_faq() -> threading.Thread:
    """Start loading, on a thread, what the refresh's FAQ step needs whatever the data: scikit-learn's modules and
    WordLlama's embeddings (about 1.3 s of CPU, one second and more of a refresh's wall time before). A load starts
    it once its files are staged, so the loading happens while the loading thread waits on DuckDB (the cross-file
    checks, the upsert) rather than inside the refresh; reading the files keeps both cores busy, so it is not
    started sooner (docs/BENCHMARKS.md, "ninth session"). An error is left for the refresh to raise, where it is
    reported. The caller joins the thread."""
    def warm() -> None:
        try:
            from ..faq import embedder

            embedder()
        except Exception:  # the refresh loads the same and reports what failed
            log.debug("FAQ warm-up failed", exc_info=True)

    thread = threading.Thread(target=warm, name="csqa-faq-warm-up", daemon=True)
    thread.start()
    return thread


def fit_faq_model(con: duckdb.DuckDBPyConnection, config: Config, *, kept: bool = False):
    """The FAQ model of this refresh: published articles, agents' tagged questions (a deterministic sample
    of at most ``faq.max_tagged_per_topic`` distinct questions per topic) and a deterministic sample of
    20,000 of the warehouse's questions (lexical vocabulary and the neighbour pool). ``kept``: the two samples
    from the state ``faq_samples`` keeps between refreshes (the same rows, without reading the warehouse)."""
    from ..faq import FaqModel

    articles = con.execute(
        "select article_id, topic, language, title, body from staging.stg_faq_articles where is_published "
        "order by article_id"
    ).df()
    tagged_sql, corpus_sql = faq_sample_queries(kept)
    tagged = con.execute(tagged_sql, [config.faq.max_tagged_per_topic]).df()
    corpus = con.execute(corpus_sql).df()
    return FaqModel.fit(articles, tagged, corpus=corpus.question.tolist(),
                        corpus_languages=corpus.faq_language.fillna("").tolist())


def faq_sample_queries(kept: bool = False) -> tuple[str, str]:
    """The SQL of the FAQ model's samples (tagged: question, topic, with the cap per topic as its parameter;
    corpus: question, faq_language): over the whole warehouse, or (``kept``) from the state kept between
    refreshes, which gives the same rows (``faq_samples``)."""
    if kept:
        return faq_samples.TAGGED_SQL, faq_samples.corpus_sql()
    tagged = """select question, topic from (
                   select coalesce(first_message, subject) as question, topic,
                          row_number() over (partition by topic order by hash(coalesce(first_message, subject)),
                                             coalesce(first_message, subject)) as n
                   from (select distinct first_message, subject, topic from staging.stg_interactions
                         where topic is not null and coalesce(first_message, subject) is not null))
               where n <= ? order by topic, question"""
    # the whole warehouse's questions, not the refresh scope's: the model depends on the data only, so an
    # incremental refresh scores a question as a full rebuild of the same data would
    corpus = f"""select question, min(faq_language) as faq_language
               from staging.stg_questions where question is not null
               group by question order by hash(question), question limit {faq_samples.CORPUS_SIZE}"""
    return tagged, corpus


# each interaction's match: its question's, from the distinct (question, language) pairs scored once
FAQ_MATCHES_SQL = """select q.interaction_id, u.faq_article_id, u.faq_topic, u.faq_match_score, u.is_topic_confident,
       u.is_faq_matched
from {questions} as q
join {unique} as u on u.question = q.question and u.faq_language is not distinct from q.faq_language"""


def predict_questions(model, part: pd.DataFrame, by_lang: dict[str, float], default_bar: float) -> pd.DataFrame:
    """The model's topic and article for distinct (question, faq_language) rows (index 0..n-1), with each
    language's match bar."""
    langs = part.faq_language.fillna("").to_numpy()
    bar = np.array([by_lang.get(x, default_bar) for x in langs], dtype=float)
    return pd.concat([part, model.predict(part.question.tolist(), langs, bar)], axis=1)


def _match_questions(con: duckdb.DuckDBPyConnection, config: Config, full: bool, chunk: int = 200_000):
    """Predict the topic of the questions of the interactions in scope and match them to published articles.

    Each distinct (question, language) is scored once, in chunks, so memory stays flat however many
    interactions there are; the results are joined back to the interactions in SQL. Returns the model
    (None without articles or tags), which the clusters reuse."""
    questions = "staging.stg_questions" if full else "staging.stg_questions_in_scope"
    con.execute(
        """create or replace temp table _faq_unique (question varchar, faq_language varchar,
               faq_article_id varchar, faq_topic varchar, faq_match_score double, is_topic_confident boolean,
               is_faq_matched boolean)"""
    )
    model = fit_faq_model(con, config, kept=True)
    if model is not None:
        reader = con.sql(
            f"""select question, faq_language from {questions}
                group by question, faq_language having question is not null
                order by question, faq_language"""
        ).to_arrow_reader(chunk)
        by_lang = config.faq.match_threshold_by_language
        # read every chunk before writing on the same connection; distinct questions only, so small
        for part in [b.to_pandas() for b in reader]:
            m = predict_questions(model, part.reset_index(drop=True), by_lang, config.faq.match_threshold)
            con.register("_m", m)
            con.execute("insert into _faq_unique by name select * from _m")
            con.unregister("_m")
    con.execute("insert into staging.faq_matches "
                + FAQ_MATCHES_SQL.format(questions=questions, unique="_faq_unique"))
    con.execute("drop table _faq_unique")
    return model


def _build_clusters(con: duckdb.DuckDBPyConnection, config: Config, as_of, model) -> None:
    """Cluster the questions without a topic (nobody tagged them, the model was unsure) over the last
    faq.window_days (rebuilt whole each refresh): where an emerging topic shows up before anyone tags it."""
    clusters, members = cluster_frames(con.execute(CLUSTER_INPUT_SQL).df(), config, as_of, model)
    con.register("_clusters", clusters)
    con.register("_members", members)
    con.execute("create or replace table marts.faq_cluster_members as select * from _members")
    con.execute(f"create or replace table marts.faq_clusters as {CLUSTERS_SQL}")
    con.unregister("_clusters")
    con.unregister("_members")


# the questions the clusters read: no topic, in the window
CLUSTER_INPUT_SQL = """select f.interaction_id, coalesce(f.first_message, f.subject) as question, f.language,
       f.created_at, f.faq_match_score
from marts.fct_interactions as f cross join staging.settings as s
where f.topic is null and coalesce(f.first_message, f.subject) is not null
  and f.created_at > s.as_of_at - to_days(s.faq_window_days)
order by f.interaction_id"""


def cluster_frames(df: pd.DataFrame, config: Config, as_of, model) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(clusters, members) of the questions ``CLUSTER_INPUT_SQL`` returns (pipeline/faq/clusters.py)."""
    from ..faq import cluster_questions

    faq = config.faq
    clusters, members = cluster_questions(
        df, as_of=pd.Timestamp(as_of) if as_of else pd.Timestamp.now(tz="UTC"), model=model,
        min_size=faq.min_cluster_size, min_cohesion=faq.cluster_min_cohesion,
        max_article_similarity=faq.cluster_max_article_similarity, merge_similarity=faq.cluster_merge_similarity,
        bar={"": faq.match_threshold, **faq.match_threshold_by_language})
    clusters = clusters.astype({"cluster_id": "str", "language": "str", "title_terms": "str",
                                "example_1": "object", "example_2": "object", "example_3": "object",
                                "nearest_article_id": "object", "nearest_topic": "object", "is_gap": "bool"})
    return clusters, members.astype({"interaction_id": "str", "cluster_id": "str"})


# marts.faq_clusters: the clusters with their members' CSAT (reads _clusters and _members)
CLUSTERS_SQL = """select c.cluster_id, c.language, cast(c.count_questions as bigint) as count_questions,
                  cast(c.count_last_7d as bigint) as count_last_7d, cast(c.count_prev_7d as bigint) as count_prev_7d,
                  cast(c.trend_ratio as double) as trend_ratio, c.title_terms,
                  cast(c.example_1 as varchar) as example_1, cast(c.example_2 as varchar) as example_2,
                  cast(c.example_3 as varchar) as example_3,
                  cast(c.cohesion as double) as cohesion, cast(c.nearest_article_id as varchar) as nearest_article_id,
                  cast(c.nearest_topic as varchar) as nearest_topic,
                  cast(c.nearest_similarity as double) as nearest_similarity,
                  cast(c.mean_match_score as double) as mean_match_score, cast(c.rank_factor as double) as rank_factor,
                  cast(c.is_gap as boolean) as is_gap,
                  count(f.csat_score) as count_rated, count(case when f.is_satisfied then 1 end) as count_satisfied,
           from _clusters as c
           left join _members as m on m.cluster_id = c.cluster_id
           left join marts.fct_interactions as f on f.interaction_id = m.interaction_id
           group by all"""


def _write_macros(con: duckdb.DuckDBPyConnection) -> None:
    for f in _model_files("macros"):
        con.execute(f.read_text(encoding="utf-8"))
