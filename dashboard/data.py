"""Data access for the dashboard: the only module that runs SQL.

Every query runs one parameterised statement on a read-only session of the published snapshot of the
warehouse: the newest snapshot's session is kept for the process (a snapshot never changes while open), each query on a
cursor of it. The warehouse itself (when no snapshot is published) and a lake are opened per query and closed:
the dashboard never holds the file a load writes, so the nightly load runs while it is open. Results are cached
for a few minutes, keyed by the query, its parameters and the snapshot's identity, so a new load
shows at once. Filter values only ever travel as parameters, never as SQL text.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from csqa.pipeline.config import load_config
from csqa.pipeline.errors import WarehouseError
from csqa.pipeline.ingest.check_names import check_label
from csqa.pipeline.model.warehouse import READER_CONFIG, connect_reader, lock_down
from csqa.pipeline.ops.lake import connect_lake
from csqa.pipeline.ops.snapshots import reader_path, snapshot_dir

TTL = 300
FILTER_COLUMNS = {  # filter name -> SQL expression (a fixed whitelist: never user text)
    "channel": "{p}channel",
    "language": "{p}language",
    "region": "coalesce({p}region, 'unknown')",
    "topic": "coalesce({p}topic, 'untagged')",
    "team": "coalesce({p}team, 'unassigned')",
}


def col(name: str, prefix: str = "") -> str:
    return FILTER_COLUMNS[name].format(p=prefix)


class WarehouseBusy(Exception):
    pass


class NoData(Exception):
    pass


@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def previous(self) -> Filters:
        days = (self.end - self.start).days + 1
        return Filters(self.start - dt.timedelta(days=days), self.start - dt.timedelta(days=1), self.values)

    def key(self) -> tuple:
        return (self.start, self.end, tuple(sorted(self.values.items())))


def goals():
    return load_config().goals


def team_labels(lang: str = "en") -> dict[str, str]:
    """Team code -> its name in ``lang`` (config [teams]); codes not configured are left out (shown as they are)."""
    return {code: (team.label_zh or team.label) if lang == "zh" else team.label
            for code, team in load_config().teams.items()}


def dimension_labels(lang: str = "en") -> dict[str, dict[str, str]]:
    """The names ``value_label`` takes for each filter dimension that has its own: channels (the warehouse's
    labels) and teams (config [teams]); the other dimensions' codes are named by i18n.VALUES alone."""
    return {"channel": channel_labels(), "team": team_labels(lang)}


def db_path() -> Path:
    db = os.environ.get("CSQA_DB")
    if db:
        return Path(db)
    return Path(load_config().warehouse.path)


LAKE = "lake:"  # source() prefix: a Spark-built lake (csqa dashboard --lake DIR sets CSQA_LAKE)


def lake_dir() -> str | None:
    """The lake the dashboard reads (``csqa dashboard --lake DIR``), or None for the warehouse."""
    return os.environ.get("CSQA_LAKE") or None


def source() -> tuple[str, float]:
    """The file to read and its identity (path + modification time) for cache keys."""
    lake = lake_dir()
    if lake:  # each csqa spark refresh swaps the mart folders in: the folder's mtime is the version
        marts = Path(lake) / "marts"
        if not marts.is_dir():
            raise NoData(lake)
        return LAKE + lake, marts.stat().st_mtime
    path = reader_path(db_path())
    if not path.exists():
        raise NoData(str(db_path()))
    return str(path), path.stat().st_mtime


@st.cache_data(ttl=TTL, show_spinner=False)
def _cached(sql: str, params: tuple, path: str, version: float) -> pd.DataFrame:
    return _run(sql, params, path)


# A published snapshot never changes while anyone has it open (a publish writes a new file, or rewrites a retired
# one only under a lease no open handle allows: pipeline/ops/snapshots.py; the load writes only the warehouse), so
# its read-only session is kept for the process and each query runs on a cursor of it: opening the 10M warehouse's
# snapshot cost ~20 ms a query, and a new session re-reads every block it needs. Only the newest snapshot's session
# is kept (a query still running on an older one keeps that one alive until it ends); the warehouse file itself
# (no snapshot published yet) and a lake are still opened per query, so the dashboard never holds the file a load
# writes. The session's memory is capped (DuckDB's default is 80% of the machine's).
SESSION_MEMORY = "1GB"
_session: dict[str, duckdb.DuckDBPyConnection] = {}
_session_lock = threading.Lock()


def _snapshot_cursor(path: str) -> duckdb.DuckDBPyConnection | None:
    """A cursor on the kept session of ``path`` when it is a published snapshot, else None."""
    if path.startswith(LAKE):
        return None
    with _session_lock:
        con = _session.get(path)  # only a snapshot's session is kept: a hit needs no other check
        if con is None:
            if Path(path).parent != snapshot_dir(db_path()):
                return None
            try:  # the same locked-down session as connect_reader, with the memory cap
                con = duckdb.connect(path, read_only=True, config={**READER_CONFIG, "memory_limit": SESSION_MEMORY})
                con.execute("set global timezone = 'UTC'")  # every cursor's (a plain SET is the session's only)
                lock_down(con, "UTC", [])
            except (duckdb.Error, WarehouseError) as e:
                raise WarehouseBusy(f"cannot open {path}: {e}") from e
            _session.clear()
            _session[path] = con
        return con.cursor()


def _run(sql: str, params: tuple, path: str) -> pd.DataFrame:
    values = [list(p) if isinstance(p, tuple) else p for p in params]
    cur = _snapshot_cursor(path)
    if cur is not None:
        try:
            return cur.execute(sql, values).df()
        finally:
            cur.close()
    try:  # the same locked-down, read-only session as csqa sql: no host file, no attach, no extension
        con = (connect_lake(path.removeprefix(LAKE), timezone="UTC") if path.startswith(LAKE)
               else connect_reader(path, timezone="UTC"))
    except WarehouseError as e:
        raise WarehouseBusy(str(e)) from e
    try:
        return con.execute(sql, values).df()
    finally:
        con.close()


def query(sql: str, params: list | tuple = ()) -> pd.DataFrame:
    path, version = source()
    frozen = tuple(tuple(p) if isinstance(p, list) else p for p in params)
    return _cached(sql, frozen, path, version)


def query_uncached(sql: str, params: list | tuple = ()) -> pd.DataFrame:
    """For exports: every row, never kept in the cache."""
    path, _ = source()
    return _run(sql, tuple(tuple(p) if isinstance(p, list) else p for p in params), path)


def where(f: Filters, *, date_col: str = "created_day", prefix: str = "") -> tuple[str, list]:
    clauses = [f"{prefix}{date_col} between ? and ?"]
    params: list = [f.start, f.end]
    for name, values in sorted(f.values.items()):
        if values:
            clauses.append(f"{col(name, prefix)} in (select unnest(?::varchar[]))")
            params.append(list(values))
    return " and ".join(clauses), params


# ---- state of the warehouse -------------------------------------------------------------------

def has_marts() -> bool:
    """Whether there is anything to show: the fact table, with an interaction (a warehouse whose loads delivered only
    empty exports has marts and no row, and every page's options and bounds were empty: an operator review)."""
    try:
        n = query("select count(*) as n from information_schema.tables "
                  "where table_schema = 'marts' and table_name = 'fct_interactions'")
        return bool(n.n.iloc[0]) and bool(query("select count(*) as n from (select 1 from marts.fct_interactions "
                                                "limit 1)").n.iloc[0])
    except NoData:
        return False


def _with_fallback(sql: str, fallback: str, params: list | tuple = (),
                   fallback_params: list | tuple | None = None) -> pd.DataFrame:
    """``sql`` on the marts; ``fallback`` (the same result from the fact table; with ``fallback_params`` when its
    parameters come in another order) on a snapshot published before the mart existed (the next load builds it)."""
    try:
        return query(sql, params)
    except duckdb.CatalogException:
        return query(fallback, params if fallback_params is None else fallback_params)


def data_bounds() -> tuple[dt.date, dt.date]:
    # marts.filter_values has a row for every created day of the fact table: a few thousand rows, not 10M
    df = _with_fallback("select min(created_day) as lo, max(created_day) as hi from marts.filter_values",
                        "select min(created_day) as lo, max(created_day) as hi from marts.fct_interactions")
    lo, hi = df.lo.iloc[0], df.hi.iloc[0]
    if pd.isna(lo):
        raise NoData("empty")
    return pd.Timestamp(lo).date(), pd.Timestamp(hi).date()


def last_load() -> dict:
    """The last good load, the newest batch, the newest interaction and the as-of time open clocks were measured
    against (staging.settings: docs/METRICS.md), in one round trip: the newest interaction is on the newest day (of
    marts.filter_values, or of the fact table on a snapshot published before that mart), so the day filter skips
    every other row group."""
    sql = """select (select max(finished_at) filter (where status = 'loaded') from audit.load_batches) as last_good,
                    (select max(batch_id) from audit.load_batches) as batch,
                    (select max(created_at) from marts.fct_interactions
                     where created_day >= (select max(created_day) from {days})) as newest,
                    (select max(as_of_at) from staging.settings) as as_of"""
    row = _with_fallback(sql.format(days="marts.filter_values"), sql.format(days="marts.fct_interactions")).iloc[0]
    return {"last_good": row.last_good, "batch": row.batch, "newest": None if pd.isna(row.newest) else row.newest,
            "as_of": None if pd.isna(row.as_of) else row.as_of}


def filter_options() -> dict[str, list[str]]:
    """Every filter's options: the distinct values over all days of marts.filter_values (the fact table's values,
    named as FILTER_COLUMNS names them), not a scan of the whole fact table."""
    select = ", ".join(f"list(distinct value order by value) filter (where filter_name = '{name}') as {name}"
                       for name in FILTER_COLUMNS)
    fallback = ", ".join(f"list(distinct {col(name)} order by {col(name)}) as {name}" for name in FILTER_COLUMNS)
    row = _with_fallback(f"select {select} from marts.filter_values",
                         f"select {fallback} from marts.fct_interactions").iloc[0]
    return {name: [str(v) for v in (row[name] if row[name] is not None else []) if v is not None]
            for name in FILTER_COLUMNS}


# ---- overview ---------------------------------------------------------------------------------

# the filters marts.kpi_daily has a column for (topic has none: a view filtered on topic counts on the fact table)
KPI_MART_FILTERS = frozenset({"channel", "language", "region", "team"})
# the KPI cards' counts, as sums over marts.kpi_daily (each the fact table's count of the same name below)
_KPI_SUMS = {"volume": "count_interactions", "res_met": "count_resolution_met",
             "res_breached": "count_resolution_breached", "reopened": "count_reopened",
             "reopen_eligible": "count_reopen_eligible", "one_touch": "count_one_touch",
             "one_touch_eligible": "count_one_touch_eligible", "sla_met": "count_first_response_met",
             "sla_breached": "count_first_response_breached", "sla_unknown": "count_sla_unknown",
             "rated": "count_rated", "satisfied": "count_satisfied"}


def _filtered(f: Filters) -> set[str]:
    return {k for k, v in f.values.items() if v}


def kpis(f: Filters) -> dict:
    w, p = where(f)
    mart_sql, mart_p = _backlog_mart_sql(f)
    fact = f"""select count(*) as volume,
                   count(*) filter (where resolution_sla_status = 'met') as res_met,
                   count(*) filter (where resolution_sla_status = 'breached') as res_breached,
                   count(*) filter (where reopen_count > 0) as reopened,
                   count(*) filter (where is_resolved or reopen_count > 0) as reopen_eligible,
                   count(*) filter (where is_one_touch) as one_touch,
                   count(is_one_touch) filter (where is_resolved) as one_touch_eligible,
                   quantile_cont(first_response_seconds, [0.5, 0.9]) as q_frt,
                   count(*) filter (where first_response_sla_status = 'met') as sla_met,
                   count(*) filter (where first_response_sla_status = 'breached') as sla_breached,
                   count(*) filter (where first_response_sla_status = 'unknown'
                                    or resolution_sla_status = 'unknown') as sla_unknown,
                   count(csat_score) as rated,
                   count(*) filter (where is_satisfied) as satisfied,
                   ({mart_sql}) as backlog
            from marts.fct_interactions where {w}"""
    if _filtered(f) <= KPI_MART_FILTERS:  # the counts from the daily mart (thousands of rows, not millions), in the
        # same round trip as the quantiles (exact, on the fact table: one column of the view's days)
        counts = ", ".join(f"cast(coalesce(sum({c}), 0) as bigint) as {k}" for k, c in _KPI_SUMS.items())
        df = _with_fallback(f"""with k as (select {counts} from marts.kpi_daily where {w}),
                                     q as (select quantile_cont(first_response_seconds, [0.5, 0.9]) as q_frt
                                           from marts.fct_interactions where {w})
                                select k.*, q.q_frt, ({mart_sql}) as backlog from k, q""",
                            fact, [*p, *p, *mart_p], [*mart_p, *p])
    else:  # topic: marts.kpi_daily has no column for it
        df = query(fact, [*mart_p, *p])
    return _kpi_rates(df.iloc[0].to_dict(), f)


def _kpi_rates(df: dict, f: Filters) -> dict:
    # one quantile call for both (twice as fast as two calls); the same exact values
    q = df.pop("q_frt")
    df["median_frt"], df["p90_frt"] = (q[0], q[1]) if q is not None else (None, None)
    # the backlog in the same round trip when the mart holds it, else counted on the fact table
    df["backlog"] = int(df["backlog"]) if not pd.isna(df["backlog"]) else _backlog_fact(f)
    met, breached = df["sla_met"], df["sla_breached"]
    df["sla_rate"] = met / (met + breached) if met + breached else None
    df["csat_share"] = df["satisfied"] / df["rated"] if df["rated"] else None
    decided = df["res_met"] + df["res_breached"]
    df["res_rate"] = df["res_met"] / decided if decided else None
    df["reopen_rate"] = df["reopened"] / df["reopen_eligible"] if df["reopen_eligible"] else None
    df["one_touch_rate"] = df["one_touch"] / df["one_touch_eligible"] if df["one_touch_eligible"] else None
    return df


def _backlog_mart_sql(f: Filters) -> tuple[str, list]:
    """A scalar subquery: the backlog at the end of ``f.end`` from marts.backlog_daily, NULL when the mart cannot
    say (a filter other than channel, or a day outside the mart's days)."""
    if any(v for k, v in f.values.items() if k != "channel"):
        return "select cast(null as bigint)", []
    p: list = [f.end, f.end]
    extra = ""
    if f.values.get("channel"):
        extra = " and channel in (select unnest(?::varchar[]))"
        p.append(list(f.values["channel"]))
    return (f"""select case when ? between min(day) and max(day)
                       then coalesce(sum(count_open_at_end) filter (where day = ?{extra}), 0) end
                from marts.backlog_daily""", p)


def _backlog_fact(f: Filters) -> int:
    w2, p2 = where(Filters(dt.date(1970, 1, 1), f.end, f.values))
    return int(query(
        f"""select count(*) as n from marts.fct_interactions
            where {w2} and (not is_resolved or resolved_day > ?)""", [*p2, f.end]).n.iloc[0])


def channel_summary(f: Filters) -> pd.DataFrame:
    """Per channel: contacts, first-response medians in both bases, the normal-priority target, SLA met share.
    Channels with different targets are never mixed into one median."""
    w, p = where(f, prefix="f.")
    return query(
        f"""select f.channel, count(*) as contacts, count(f.first_response_seconds) as answered,
                   quantile_cont(f.first_response_seconds, 0.5) as median_calendar,
                   quantile_cont(f.first_response_business_seconds, 0.5) as median_business,
                   any_value(t.first_response_target_seconds) as target_seconds,
                   count(*) filter (where f.first_response_sla_status = 'met') as met,
                   count(*) filter (where f.first_response_sla_status = 'breached') as breached
            from marts.fct_interactions as f
            left join staging.sla_targets as t on t.channel = f.channel and t.priority = 'normal'
            where {w} group by f.channel order by contacts desc""", p)


def backlog_trend(f: Filters) -> pd.DataFrame:
    """Open at the end of each day (marts.backlog_daily): filtered by day and channel only (the mart has no
    other dimension)."""
    p: list = [f.start, f.end]
    extra = ""
    if f.values.get("channel"):
        extra = " and channel in (select unnest(?::varchar[]))"
        p.append(list(f.values["channel"]))
    return query(f"""select day, channel, count_created, count_resolved, count_open_at_end
                     from marts.backlog_daily where day between ? and ?{extra} order by day, channel""", p)


def daily_volume(f: Filters) -> pd.DataFrame:
    w, p = where(f)
    return query(f"""select created_day, channel, count(*) as contacts from marts.fct_interactions
                     where {w} group by all order by 1, 2""", p)


def hour_of_week(f: Filters) -> pd.DataFrame:
    w, p = where(f, prefix="f.")
    # DuckDB-only: timezone() converts to the reporting zone's wall clock. Converting each row was most of the
    # query's time: the rows are first counted per 15-minute UTC slot (every time zone's offset and every
    # daylight-saving change is a multiple of 15 minutes, so a slot lies within one local hour), and the
    # slots' starts are converted. Exact.
    return query(
        f"""with slots as (
                select to_timestamp(floor(epoch(f.created_at) / 900) * 900) as slot, count(*) as n
                from marts.fct_interactions as f where {w} group by 1)
            select isodow(timezone(s.reporting_timezone, slot)) as weekday,
                   hour(timezone(s.reporting_timezone, slot)) as hour, cast(sum(n) as bigint) as contacts
            from slots cross join staging.settings as s
            group by all""", p)


# ---- response times ---------------------------------------------------------------------------

def _col(metric: str, basis: str) -> str:
    base = {"first_response": "first_response", "resolution": "resolution"}[metric]
    return f"{base}_business_seconds" if basis == "business" else f"{base}_seconds"


def duration_quantiles(f: Filters, metric: str, basis: str) -> pd.DataFrame:
    col = _col(metric, basis)
    w, p = where(f)
    df = query(  # one quantile call for the five (2-3 times faster than five calls); the same exact values
        f"""select channel, count({col}) as n, count(*) filter (where {col} = 0) as zeros,
                   quantile_cont({col}, [0.1, 0.25, 0.5, 0.75, 0.9]) as q
            from marts.fct_interactions where {w} and {col} is not null group by channel order by channel""", p)
    return _split_quantiles(df, ["p10", "p25", "p50", "p75", "p90"])


def _split_quantiles(df: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The list column ``q`` of ``quantile_cont(x, [...])`` as one column per quantile (a copy: cached frames
    are never changed in place)."""
    out = df.drop(columns=["q"])
    for i, name in enumerate(names):
        out[name] = pd.Series([q[i] if q is not None else None for q in df["q"]], index=df.index, dtype=float)
    return out


def sla_targets() -> pd.DataFrame:
    return query("""select channel, channel_label, schedule, first_response_target_seconds, resolution_target_seconds
                    from staging.sla_targets where priority = 'normal'""")


def weekly_quantiles(f: Filters, basis: str) -> pd.DataFrame:
    col = _col("first_response", basis)
    w, p = where(f)
    df = query(
        f"""select date_trunc('week', created_day) as week, channel, count({col}) as n,
                   min(created_day) as first_day, max(created_day) as last_day,
                   quantile_cont({col}, [0.5, 0.9]) as q
            from marts.fct_interactions where {w} and {col} is not null group by all order by 1, 2""", p)
    return _split_quantiles(df, ["p50", "p90"])


def sla_weekly(f: Filters) -> pd.DataFrame:
    w, p = where(f)
    return query(
        f"""select date_trunc('week', created_day) as week, channel,
                   count(*) filter (where first_response_sla_status = 'met') as met,
                   count(*) filter (where first_response_sla_status = 'breached') as breached
            from marts.fct_interactions where {w} group by all order by 1, 2""", p)


def worst_breaches(f: Filters, limit: int = 50) -> pd.DataFrame:
    """First-response and resolution breaches ranked by overrun relative to the target (business time, the
    basis targets are in): 3 h late on a 1 h target ranks above 10 h late on a 24 h one."""
    w, p = where(f)
    return query(
        f"""with b as (
                select interaction_id, 'first_response' as metric, channel, priority, team, agent_id, created_at,
                       first_response_business_seconds as waited_seconds,
                       first_response_target_seconds as target_seconds
                from marts.fct_interactions
                where {w} and first_response_sla_status = 'breached'
                  and first_response_business_seconds is not null and first_response_target_seconds > 0
                union all
                select interaction_id, 'resolution', channel, priority, team, agent_id, created_at,
                       resolution_business_seconds, resolution_target_seconds
                from marts.fct_interactions
                where {w} and resolution_sla_status = 'breached'
                  and resolution_business_seconds is not null and resolution_target_seconds > 0)
            select *, waited_seconds - target_seconds as over_target_seconds,
                   waited_seconds / target_seconds - 1 as over_target_ratio
            from b order by over_target_ratio desc, interaction_id limit ?""", [*p, *p, limit])


def sla_by_priority(f: Filters) -> pd.DataFrame:
    w, p = where(f)
    return query(
        f"""select priority,
                   count(*) filter (where first_response_sla_status = 'met') as fr_met,
                   count(*) filter (where first_response_sla_status = 'breached') as fr_breached,
                   count(*) filter (where resolution_sla_status = 'met') as res_met,
                   count(*) filter (where resolution_sla_status = 'breached') as res_breached
            from marts.fct_interactions where {w} group by priority
            order by list_position(['urgent', 'high', 'normal', 'low'], priority)""", p)


def next_reply(f: Filters, basis: str) -> pd.DataFrame:
    s = "sum_next_reply_business_seconds" if basis == "business" else "sum_next_reply_seconds"
    m = "max_next_reply_business_seconds" if basis == "business" else "max_next_reply_seconds"
    w, p = where(f)
    return query(
        f"""select channel, sum(count_reply_waits) as waits, sum(count_next_replies) as replies,
                   sum({s}) / nullif(sum(count_next_replies), 0) as mean_seconds,
                   quantile_cont({m}, 0.9) as p90_longest_seconds
            from marts.fct_interactions where {w} group by channel order by channel""", p)


# ---- satisfaction -----------------------------------------------------------------------------

def csat_weekly(f: Filters) -> pd.DataFrame:
    w, p = where(f)
    return query(
        f"""select date_trunc('week', created_day) as week, count(csat_score) as rated,
                   count(*) filter (where is_satisfied) as satisfied,
                   sum(csat_score) as sum_score, sum(csat_score * csat_score) as sum_sq,
                   sum(count_surveys_sent) as sent, sum(count_surveys_answered) as answered
            from marts.fct_interactions where {w} group by all order by 1""", p)


def csat_by(f: Filters, dim: str) -> pd.DataFrame:
    expr = col(dim)
    w, p = where(f)
    return query(
        f"""select {expr} as value, count(csat_score) as rated, count(*) filter (where is_satisfied) as satisfied,
                   sum(count_surveys_sent) as sent, sum(count_surveys_answered) as answered
            from marts.fct_interactions where {w} group by all order by rated desc""", p)


def min_sample() -> int:
    return int(query("select min_sample from staging.settings").min_sample.iloc[0])


def low_comments(f: Filters, limit: int = 50) -> pd.DataFrame:
    w, p = where(f)
    return query(
        f"""select interaction_id, csat_responded_at, channel, language, coalesce(topic, 'untagged') as topic,
                   csat_score, csat_comment
            from marts.fct_interactions where {w} and csat_score <= 2 and csat_comment is not null
            order by csat_responded_at desc limit ?""", [*p, limit])


# ---- FAQ --------------------------------------------------------------------------------------

def faq_gaps() -> pd.DataFrame:
    return query("""select priority_rank, gap_type, coalesce(topic, cluster_id) as topic_or_cluster,
                           coalesce(language, 'all') as language,
                           count_contacts, count_last_7d, count_prev_7d, satisfied_share, priority_score,
                           suggested_title_terms, array_to_string(example_questions, ' | ') as example_questions
                    from marts.faq_gaps order by priority_rank""")


def faq_coverage() -> pd.DataFrame:
    return query("""select topic, language, count_contacts, has_article_in_language, has_article_any_language,
                           match_rate, satisfied_share, repeat_contact_rate
                    from marts.faq_coverage order by topic, language""")


def faq_clusters() -> pd.DataFrame:
    return query("""select cluster_id, language, is_gap, count_questions, count_last_7d, count_prev_7d, trend_ratio,
                           cohesion, nearest_article_id, nearest_similarity, title_terms, example_1, example_2,
                           example_3
                    from marts.faq_clusters order by is_gap desc, count_questions desc, cluster_id""")


def faq_deflection() -> pd.DataFrame:
    return query("""select d.article_id, a.title, d.topic, d.language, d.week_offset, d.count_contacts,
                           d.is_complete_week, s.change_rate, s.is_beyond_noise
                    from marts.faq_deflection as d
                    join raw.faq_articles as a using (article_id)
                    left join marts.faq_deflection_summary as s using (article_id)
                    order by d.article_id, d.week_offset""")


def faq_window_days() -> int:
    return int(query("select faq_window_days from staging.settings").faq_window_days.iloc[0])


def faq_window_untopiced() -> int:
    """Contacts in the FAQ window (the one marts.faq_coverage counts) that have no topic: coverage leaves them out,
    the overview counts them, so the page says how many there are."""
    return int(query("""select count(*) as n from marts.fct_interactions as f cross join staging.settings as s
                        where f.topic is null
                          and f.created_at > s.as_of_at - to_days(s.faq_window_days)""").n.iloc[0])


# ---- data quality -----------------------------------------------------------------------------

def recent_loads(limit: int = 30) -> pd.DataFrame:
    return query("""select batch_id, source_file, entity, status, rows_read, rows_loaded, rows_quarantined,
                           rows_duplicate, finished_at, error, notes
                    from audit.load_batches order by batch_id desc, source_file limit ?""", [limit])


def quarantine_by_check() -> pd.DataFrame:
    """The quarantined rows by entity, column and check (its name as people read it: ``check_label``), with up to
    three of the values that failed (redacted as stored), the most frequent first."""
    # (a row has one failing value per column and check, so the rows of the values add up to the check's rows)
    df = query("""with v as (
                      select entity, coalesce(column_name, '(record)') as column_name, check_name, failing_value,
                             count(distinct (batch_id, source_file, row_number)) as rows
                      from audit.quarantine group by all
                  )
                  select entity, column_name, check_name, sum(rows)::bigint as rows,
                         coalesce(array_to_string(list(failing_value order by rows desc, failing_value)
                                                  filter (where failing_value is not null)[1:3], ', '), '–') as examples
                  from v group by all order by rows desc, entity, column_name, check_name limit 30""")
    return df.assign(check_name=df.check_name.map(check_label))


# ---- conversations ----------------------------------------------------------------------------

CONVERSATION_COLUMNS = """interaction_id, created_at, channel, priority, status, language, region,
    coalesce(topic, 'untagged') as topic, team, agent_id, first_response_seconds, first_response_business_seconds,
    first_response_sla_status, resolution_seconds, resolution_sla_status, csat_score, subject, first_message,
    faq_article_id, faq_match_score"""
# ISO weeks (Monday) of the reporting-zone day; values arrive parsed (dates, known statuses, known options)
DRILL_COLUMNS = {"day": "created_day", "sla": "first_response_sla_status", "week": "date_trunc('week', created_day)",
                 "priority": "priority"}
# drill_has=<column>: only interactions where that duration exists (what a duration chart counts)
HAS_COLUMNS = ("first_response_seconds", "first_response_business_seconds", "resolution_seconds",
               "resolution_business_seconds")


def conversations(f: Filters, drill: dict, limit: int) -> tuple[pd.DataFrame, int]:
    w, p = where(f)
    extra, ep = _drill_sql(drill)
    cond = " and ".join([w, *extra])
    # counted per day: the total, and the oldest day the newest `limit` rows can reach (a day holds earlier
    # instants than the next one), so the rows query reads those days only instead of sorting the whole range
    fact_days = (f"select created_day, count(*) as n from marts.fct_interactions where {cond} "
                 "group by 1 order by 1 desc")
    if not drill and _filtered(f) <= KPI_MART_FILTERS:  # the same counts from the daily mart
        by_day = _with_fallback(f"select created_day, cast(sum(count_interactions) as bigint) as n "
                                f"from marts.kpi_daily where {w} group by 1 order by 1 desc", fact_days, p)
    else:
        by_day = query(fact_days, [*p, *ep])
    n = int(by_day.n.sum())
    reached = by_day.n.cumsum() >= limit
    since = by_day.created_day[reached].iloc[0] if reached.any() else f.start
    rows = query(f"select {CONVERSATION_COLUMNS} from marts.fct_interactions where {cond} and created_day >= ? "
                 "order by created_at desc, interaction_id limit ?", [*p, *ep, pd.Timestamp(since).date(), limit])
    return rows, n


def conversations_csv(f: Filters, drill: dict, chunk: int = 50_000):
    """Every row of the view as CSV, built in chunks (no cap): the header first, then ``chunk`` rows at a time."""
    _, n = conversations(f, drill, limit=0)
    first = True
    for offset in range(0, max(n, 1), chunk):
        part = _conversation_page(f, drill, offset, chunk)
        yield part.to_csv(index=False, header=first)
        first = False


def _conversation_page(f: Filters, drill: dict, offset: int, limit: int) -> pd.DataFrame:
    w, p = where(f)
    extra, ep = _drill_sql(drill)
    cond = " and ".join([w, *extra])
    return query_uncached(f"select {CONVERSATION_COLUMNS} from marts.fct_interactions where {cond} "
                          "order by created_at desc, interaction_id limit ? offset ?", [*p, *ep, limit, offset])


def _drill_sql(drill: dict) -> tuple[list[str], list]:
    extra, ep = [], []
    for k, v in sorted(drill.items()):
        if k == "sla" and v == "decided":
            extra.append("first_response_sla_status in ('met', 'breached')")
        elif k == "has" and v in HAS_COLUMNS:
            extra.append(f"{v} is not null")
        elif k in DRILL_COLUMNS:
            extra.append(f"{DRILL_COLUMNS[k]} = ?")
            ep.append(v)
        elif k in FILTER_COLUMNS:
            extra.append(f"{col(k)} = ?")
            ep.append(v)
    return extra, ep


# ---- one conversation -------------------------------------------------------------------------

def conversation(interaction_id: str, near: tuple[dt.date, dt.date] | None = None) -> pd.DataFrame:
    """One interaction's fact row, looked up within created days: DuckDB then reads only the row groups of those days
    (the fact table is written in created-day order, marts._build_in_slices) instead of comparing every stored id, a
    scan of the whole table when ids do not follow time. First within ``near``, the days of the view the link came
    from (every link the app makes: 29-34 ms at 10M, docs/BENCHMARKS.md); where it is not there (a link typed by
    hand, a list by other days), within the day ``marts.interaction_lookup`` gives (``_created_days``: a scan of one
    integer column, 54-68 ms in all); where that table is missing (a lake, an older snapshot) or gives no day that
    holds the id, by the id alone (279-286 ms). The row carries the send times that bound its messages and surveys
    (``event_bounds``) where the marts and the raw tables are written in one transaction (the warehouse and its
    snapshots): every stored event was counted into the row. Not from a lake, whose raw files a load may add
    without a refresh."""
    if lake_dir():  # a lake's raw files can be ahead of its marts (csqa spark load --no-refresh): not bounds there
        return _conversation(interaction_id, near, "")
    try:
        return _conversation(interaction_id, near, _EVENT_BOUNDS)
    except duckdb.BinderException as e:  # a snapshot published before the fact table kept them (the next load adds
        if "_sent_at" not in str(e):  # them); any other binder error is a bug
            raise
        return _conversation(interaction_id, near, "")


_EVENT_BOUNDS = ", first_message_sent_at, last_message_sent_at, first_survey_sent_at, last_survey_sent_at"


def _conversation(interaction_id: str, near: tuple[dt.date, dt.date] | None, extra: str) -> pd.DataFrame:
    sql = f"""select interaction_id, created_at, channel, priority, status, language, region,
                     coalesce(topic, 'untagged') as topic, team, agent_id, subject, first_message,
                     first_response_at, first_response_seconds, first_response_business_seconds,
                     first_response_target_seconds, first_response_sla_status,
                     resolved_at, resolution_seconds, resolution_business_seconds, resolution_target_seconds,
                     resolution_sla_status, reopen_count, count_reply_waits, count_next_replies,
                     max_next_reply_seconds, csat_score, csat_comment, csat_responded_at{extra}
              from marts.fct_interactions where interaction_id = ?"""
    within = sql + " and created_day between ? and ?"
    if near is not None:
        row = query(within, [interaction_id, *near])
        if not row.empty:
            return row
    days = _created_days(interaction_id)
    if days is not None:
        row = query(within, [interaction_id, *days])
        if not row.empty:
            return row
    return query(sql, [interaction_id])


def _created_days(interaction_id: str) -> tuple[dt.date, dt.date] | None:
    """The first and last created day ``marts.interaction_lookup`` holds for the id's hash (one day but for a hash
    shared by two interactions; pipeline/model/lookup.py): one scan of an integer column instead of every stored id.
    None where it holds none (an id not stored; a table written with another DuckDB's hash) or where there is no
    such table (a lake; a snapshot published before it): the caller then looks further."""
    if lake_dir():  # a lake has no such table (csqa spark refresh does not write it)
        return None
    try:
        found = query("""select min(created_day)::varchar as lo, max(created_day)::varchar as hi
                         from marts.interaction_lookup where id_hash = hash(?::varchar)""", [interaction_id])
    except duckdb.CatalogException:
        return None
    lo, hi = found.iloc[0]
    return None if pd.isna(lo) else (dt.date.fromisoformat(lo), dt.date.fromisoformat(hi))


def event_bounds(row: pd.Series, kind: str) -> tuple | None:
    """The first and last send time of a conversation's ``kind`` ("message" or "survey") events from its fact row
    (``conversation``): every stored one lies between them (sql/README.md), both missing when it has none. None when
    the row does not carry them (a lake; a snapshot published before the fact table kept them)."""
    first, last = f"first_{kind}_sent_at", f"last_{kind}_sent_at"
    if first not in row.index:
        return None
    return (None, None) if pd.isna(row[first]) else (row[first].to_pydatetime(), row[last].to_pydatetime())


def _sent_between(sent: tuple | None) -> tuple[str, list]:
    """The condition on ``sent_at`` for events sent within ``sent`` (event_bounds): through the zone maps of the
    send time DuckDB reads only the row groups of those times, instead of comparing every stored event's
    interaction id (the whole table when ids do not follow the order the events were written in)."""
    if sent is None:
        return "", []
    if sent[0] is None:
        return " and false", []
    return " and sent_at between ? and ?", list(sent)


def conversation_messages(interaction_id: str, sent: tuple | None = None) -> pd.DataFrame:
    """The messages in order; each customer message carries its wait for the next public agent reply. ``sent``: the
    conversation's ``event_bounds(row, "message")`` (None: unknown, every stored message's id compared)."""
    cond, p = _sent_between(sent)
    return query(f"""with m as (select message_id, sender_role, sent_at, is_public, text
                               from raw.messages where interaction_id = ?{cond}),
                     w as (select m.message_id, min(r.sent_at) as reply_at
                           from m join m as r on r.sender_role = 'agent' and r.is_public and r.sent_at > m.sent_at
                           where m.sender_role = 'customer' group by m.message_id)
                     select m.sent_at, m.sender_role, m.is_public, m.text,
                            epoch(w.reply_at - m.sent_at) as wait_seconds
                     from m left join w using (message_id)
                     order by m.sent_at, m.message_id""", [interaction_id, *p])


def conversation_surveys(interaction_id: str, sent: tuple | None = None) -> pd.DataFrame:
    """The conversation's CSAT surveys by send time. ``sent``: its ``event_bounds(row, "survey")``."""
    cond, p = _sent_between(sent)
    return query(f"""select sent_at, responded_at, score, comment from raw.csat_surveys
                     where interaction_id = ?{cond} order by sent_at""", [interaction_id, *p])


# ---- agents and teams -------------------------------------------------------------------------

def _per_person(f: Filters, key: str, where_extra: str = "") -> pd.DataFrame:
    """One row per ``key`` (team or agent) over the interactions in view, with every filter: the same
    columns and definitions for both tables (docs/METRICS.md), first response as the median in calendar time."""
    w, p = where(f)
    return query(
        f"""select {key}, count(*) as contacts,
                   quantile_cont(first_response_seconds, 0.5) as median_frt_seconds,
                   count(*) filter (where first_response_sla_status = 'met') / nullif(count(*) filter
                       (where first_response_sla_status in ('met', 'breached')), 0) as sla_rate,
                   count(*) filter (where reopen_count > 0) / nullif(count(*) filter
                       (where is_resolved or reopen_count > 0), 0) as reopen_rate,
                   count(*) filter (where is_one_touch) / nullif(count(is_one_touch) filter (where is_resolved), 0)
                       as one_touch_rate,
                   count(csat_score) as rated,
                   count(*) filter (where is_satisfied) / nullif(count(csat_score), 0) as csat_share
            from marts.fct_interactions where {w}{where_extra} group by all order by contacts desc, 1""", p)


# the per-person tables' counts, as sums over a daily mart (marts.agent_daily and marts.kpi_daily name them alike)
_PER_PERSON_SUMS = {"contacts": "count_interactions", "met": "count_first_response_met",
                    "breached": "count_first_response_breached", "reopened": "count_reopened",
                    "reopen_eligible": "count_reopen_eligible", "one_touch": "count_one_touch",
                    "one_touch_eligible": "count_one_touch_eligible", "rated": "count_rated",
                    "satisfied": "count_satisfied"}


def _per_person_from_mart(f: Filters, mart: str, key: str, fact_key: str, fact_extra: str = "") -> pd.DataFrame:
    """``_per_person``'s table with its counts summed from a daily mart (by ``key``) and only the median from the
    fact table (where ``fact_key`` names the same value); ``_per_person`` itself on a snapshot without the mart."""
    w, p = where(f)
    sums = ", ".join(f"cast(sum({c}) as bigint) as {k}" for k, c in _PER_PERSON_SUMS.items())
    try:
        return query(
            f"""with k as (select {key}, {sums} from marts.{mart} where {w} group by {key}),
                m as (select {fact_key} as {key}, quantile_cont(first_response_seconds, 0.5) as median_frt_seconds
                      from marts.fct_interactions where {w}{fact_extra} group by 1)
                select k.{key}, k.contacts, m.median_frt_seconds, met / nullif(met + breached, 0) as sla_rate,
                       reopened / nullif(reopen_eligible, 0) as reopen_rate,
                       one_touch / nullif(one_touch_eligible, 0) as one_touch_rate, rated,
                       satisfied / nullif(rated, 0) as csat_share
                from k left join m using ({key}) order by contacts desc, 1""", [*p, *p])
    except duckdb.CatalogException:  # a snapshot published before the mart existed
        return _per_person(f, f"{fact_key} as {key}", fact_extra)


def agents(f: Filters) -> pd.DataFrame:
    """Per agent, with every filter; bot-handled and unassigned interactions belong to no agent (METRICS.md)."""
    if not _filtered(f):  # dates only: the counts from marts.agent_daily, the median from the facts
        return _per_person_from_mart(f, "agent_daily", "agent_id", "agent_id", " and agent_id is not null")
    return _per_person(f, "agent_id", " and agent_id is not null")


def teams(f: Filters) -> pd.DataFrame:
    if _filtered(f) <= KPI_MART_FILTERS:  # the counts from marts.kpi_daily (by team), the median from the facts
        return _per_person_from_mart(f, "kpi_daily", "team", "coalesce(team, 'unassigned')")
    return _per_person(f, "coalesce(team, 'unassigned') as team")


def channel_labels() -> dict[str, str]:
    df = query("select distinct channel, channel_label from staging.sla_targets")
    return dict(zip(df.channel, df.channel_label, strict=True))
