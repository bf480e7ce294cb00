"""Refreshing staging and marts, inside the load's transaction.

Order: tables derived from the configuration (``staging.settings``, ``staging.sla_targets``,
``staging.business_calendar``, ``staging.duration_buckets``), then the views in ``sql/staging``,
then each model in ``sql/marts`` in file order.

Each mart file's second line says how it refreshes:

- ``-- refresh: by interaction_id``: rows of the interactions in ``staging.refresh_interactions``
  are deleted and recomputed;
- ``-- refresh: by created_day``: rows of the days in ``staging.refresh_days`` are deleted and
  recomputed (the model filters on that table itself);
- ``-- refresh: full``: rebuilt whole (small outputs).

What changed decides the scope: the interactions this batch inserted or changed, those whose
messages or surveys changed, and every interaction still open (its SLA clock moves with the
as-of time). The days are the created days of those interactions, before and after. A first
build, a changed configuration or a new as-of day for an open interaction widens it as needed;
with ``full=True`` everything is rebuilt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import time

import duckdb
import pandas as pd

from .business_time import calendar_frame
from .config import Config
from .warehouse import SQL_DIR

log = logging.getLogger(__name__)

BUCKET_EDGES = [0, 30, 60, 120, 180, 300, 600, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 12 * 3600,
                24 * 3600, 48 * 3600, 72 * 3600, 7 * 86400, 14 * 86400, 30 * 86400, float("inf")]
_REFRESH_RE = re.compile(r"^--\s*refresh:\s*(full|by\s+(\w+))\s*$", re.M)


def config_hash(config: Config) -> str:
    relevant = {
        "channels": config.model_dump()["channels"],
        "schedules": config.model_dump()["schedules"],
        "csat": config.model_dump()["csat"],
        "first_response": config.model_dump()["first_response"],
        "tz": config.warehouse.reporting_timezone,
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def _model_files(layer: str):
    return sorted((SQL_DIR / layer).glob("*.sql"))


def mart_models() -> list[tuple[str, str, str | None, str]]:
    """(table name, refresh mode, key column, select sql) for each file in sql/marts."""
    out = []
    for f in _model_files("marts"):
        text = f.read_text(encoding="utf-8")
        m = _REFRESH_RE.search(text)
        if not m:
            raise ValueError(f"{f.name}: second line must say '-- refresh: full' or '-- refresh: by <column>'")
        name = f.stem.split("_", 1)[1]
        mode = "full" if m.group(1) == "full" else "by"
        out.append((name, mode, m.group(2), text))
    return out


def _write_config_tables(con: duckdb.DuckDBPyConnection, config: Config) -> None:
    rows = []
    for name, ch in config.channels.items():
        for prio in config.contract.priorities:
            t = ch.target(prio)
            rows.append((name, ch.label, prio, ch.schedule,
                         t.first_response_minutes * 60 if t.first_response_minutes else None,
                         t.resolution_hours * 3600 if t.resolution_hours else None))
    targets = pd.DataFrame(rows, columns=["channel", "channel_label", "priority", "schedule",
                                          "first_response_target_seconds", "resolution_target_seconds"])
    con.register("_targets", targets)
    con.execute("create or replace table staging.sla_targets as select * from _targets")
    con.unregister("_targets")
    edges = BUCKET_EDGES
    buckets = pd.DataFrame({"lower_seconds": edges[:-1], "upper_seconds": edges[1:]}).astype(float)
    buckets["upper_seconds"] = buckets["upper_seconds"].replace(float("inf"), 1e15)
    con.register("_buckets", buckets)
    con.execute("create or replace table staging.duration_buckets as select * from _buckets")
    con.unregister("_buckets")


def _write_calendar(con: duckdb.DuckDBPyConnection, config: Config) -> None:
    lo, hi = con.execute(
        "select min(created_at), greatest(max(updated_at), max(resolved_at)) from raw.interactions"
    ).fetchall()[0]
    today = dt.datetime.now(dt.UTC).date()
    start = (lo.date() if lo else today) - dt.timedelta(days=7)
    end = max((hi.date() if hi else today), start) + dt.timedelta(days=60)
    used = {ch.schedule for ch in config.channels.values()}
    cal = calendar_frame({k: v for k, v in config.schedules.items() if k in used}, start, end)
    con.register("_cal", cal)
    con.execute("create or replace table staging.business_calendar as select * from _cal order by schedule, open_at")
    con.unregister("_cal")


def _settings_row(con, config: Config) -> dict:
    as_of = con.execute(
        "select greatest(max(updated_at), max(created_at)) from raw.interactions"
    ).fetchall()[0][0]
    lo, hi = con.execute(
        "select min(open_at), max(close_at) from staging.business_calendar"
    ).fetchall()[0] if _exists(con, "staging", "business_calendar") else (None, None)
    return {
        "reporting_timezone": config.warehouse.reporting_timezone,
        "satisfied_threshold": config.csat.satisfied_threshold,
        "min_sample": config.csat.min_sample,
        "count_bot_replies": config.first_response.count_bot_replies,
        "count_private_notes": config.first_response.count_private_notes,
        "as_of_at": as_of,
        "config_hash": config_hash(config),
        "calendar_from": lo,
        "calendar_to": hi,
    }


def _exists(con, schema: str, table: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()[0][0])


def _calendar_covers(con) -> bool:
    if not _exists(con, "staging", "business_calendar"):
        return False
    lo, hi = con.execute(
        "select min(created_at), greatest(max(updated_at), max(resolved_at)) from raw.interactions"
    ).fetchall()[0]
    if lo is None:
        return True
    c_lo, c_hi = con.execute("select min(open_at), max(close_at) from staging.business_calendar").fetchall()[0]
    return c_lo is not None and c_lo <= lo and c_hi >= hi + dt.timedelta(days=7)


def refresh(con: duckdb.DuckDBPyConnection, config: Config, changed: dict[str, int] | None = None,
            *, batch_id: int | None = None, full: bool = False) -> dict:
    """Bring staging and marts up to date. Returns timings and the scope that was refreshed."""
    t0 = time.perf_counter()
    prev = None
    if _exists(con, "staging", "settings"):
        prev = con.execute("select config_hash, as_of_at from staging.settings").fetchall()[0]
    new_hash = config_hash(config)
    marts_exist = all(_exists(con, "marts", name) for name, *_ in mart_models())
    if prev is None or prev[0] != new_hash or not marts_exist or batch_id is None:
        full = True
    _write_config_tables(con, config)
    if full or not _calendar_covers(con):
        _write_calendar(con, config)
        full = True if not marts_exist or prev is None or prev[0] != new_hash else full
    settings = _settings_row(con, config)
    con.execute(
        """create or replace table staging.settings (
               reporting_timezone varchar, satisfied_threshold integer, min_sample integer,
               count_bot_replies boolean, count_private_notes boolean, as_of_at timestamptz,
               config_hash varchar, calendar_from timestamptz, calendar_to timestamptz)"""
    )
    con.execute("insert into staging.settings values (?, ?, ?, ?, ?, ?, ?, ?, ?)", list(settings.values()))
    for f in _model_files("staging"):
        con.execute(f.read_text(encoding="utf-8"))

    if full:
        con.execute("create or replace table staging.refresh_interactions as "
                    "select interaction_id from raw.interactions")
    else:
        con.execute(
            """create or replace table staging.refresh_interactions as
               select interaction_id from raw.interactions where _batch_id = $b
               union select interaction_id from raw.messages where _batch_id = $b
               union select interaction_id from raw.csat_surveys where _batch_id = $b
               union select interaction_id from marts.fct_interactions where not is_resolved""",
            {"b": batch_id},
        )
    con.execute(
        """create or replace table staging.refresh_days as
           select distinct created_day as day from staging.stg_interactions
           where interaction_id in (select interaction_id from staging.refresh_interactions)"""
        + ("" if full else """
           union select created_day from marts.fct_interactions
           where interaction_id in (select interaction_id from staging.refresh_interactions)""")
    )
    scope = con.execute(
        "select (select count(*) from staging.refresh_interactions), (select count(*) from staging.refresh_days)"
    ).fetchall()[0]
    timings = {}
    for name, mode, key, sql in mart_models():
        tm = time.perf_counter()
        table = f"marts.{name}"
        if full or mode == "full" or not _exists(con, "marts", name):
            con.execute(f"create or replace table {table} as {sql}")
        else:
            scope_sql = ("select interaction_id from staging.refresh_interactions" if key == "interaction_id"
                         else "select day from staging.refresh_days")
            con.execute(f"delete from {table} where {key} in ({scope_sql})")
            con.execute(f"insert into {table} by name {sql}")
        timings[name] = round(time.perf_counter() - tm, 3)
    _write_macros(con)
    info = {"full": full, "interactions": scope[0], "days": scope[1], "seconds": round(time.perf_counter() - t0, 3),
            "models": timings}
    log.info("marts refreshed: %s", info)
    return info


def _write_macros(con: duckdb.DuckDBPyConnection) -> None:
    for f in _model_files("macros"):
        con.execute(f.read_text(encoding="utf-8"))
