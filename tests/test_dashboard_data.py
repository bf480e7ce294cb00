"""The dashboard's query layer after the 10M-speed changes (issue 14, P4): each faster query returns exactly what
the plain query on the fact table returns (the previous SQL, kept here as the reference), so a card and the
chart under it still agree."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest
import streamlit as st

from csqa.dashboard import data
from csqa.pipeline.model.checks import run_checks


@pytest.fixture
def dash(sample_wh, monkeypatch):
    monkeypatch.setenv("CSQA_DB", str(sample_wh))
    st.cache_data.clear()
    yield data
    st.cache_data.clear()


def ref(db, sql, params=()) -> pd.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("set timezone = 'UTC'")  # as the dashboard's reader session
        return con.execute(sql, list(params)).df()
    finally:
        con.close()


def views(dash) -> list:
    lo, hi = dash.data_bounds()
    f = dash.Filters(max(lo, hi - dt.timedelta(days=27)), hi, {})
    opts = dash.filter_options()
    return [f, f.previous(), dash.Filters(lo, hi, {}),
            dash.Filters(f.start, f.end, {"channel": (opts["channel"][0],)}),
            dash.Filters(f.start, f.end, {"channel": tuple(opts["channel"][:2]), "language": (opts["language"][0],)}),
            dash.Filters(f.start, f.end, {"team": (opts["team"][0],)}),
            # ends outside the backlog mart's days: counted on the fact table
            dash.Filters(lo - dt.timedelta(days=30), lo - dt.timedelta(days=1), {}),
            dash.Filters(f.start, hi + dt.timedelta(days=400), {})]


def test_filter_options_and_bounds_equal_the_fact_table(dash, sample_wh):
    fallback = ", ".join(f"list(distinct {data.col(n)} order by {data.col(n)}) as {n}" for n in data.FILTER_COLUMNS)
    row = ref(sample_wh, f"select {fallback} from marts.fct_interactions").iloc[0]
    want = {n: [str(v) for v in row[n] if v is not None] for n in data.FILTER_COLUMNS}
    got = dash.filter_options()
    assert got == want
    assert all(len(v) > 1 for v in got.values())
    b = ref(sample_wh, "select min(created_day) as lo, max(created_day) as hi from marts.fct_interactions").iloc[0]
    assert dash.data_bounds() == (b.lo.date(), b.hi.date())
    newest = ref(sample_wh, "select max(created_at) as t from marts.fct_interactions").t.iloc[0]
    assert dash.last_load()["newest"] == newest
    # the as-of time the open clocks were measured against, which the footer names (a new user's review)
    assert dash.last_load()["as_of"] == ref(sample_wh, "select as_of_at as t from staging.settings").t.iloc[0]


def test_kpis_backlog_and_quantiles_equal_the_fact_table(dash, sample_wh):
    for f in views(dash):
        k = dash.kpis(f)
        w, p = data.where(f)
        w2, p2 = data.where(data.Filters(dt.date(1970, 1, 1), f.end, f.values))
        r = ref(sample_wh, f"""select count(*) as volume, quantile_cont(first_response_seconds, 0.5) as median_frt,
                                      quantile_cont(first_response_seconds, 0.9) as p90_frt
                               from marts.fct_interactions where {w}""", p).iloc[0]
        backlog = ref(sample_wh, f"""select count(*) as n from marts.fct_interactions
                                     where {w2} and (not is_resolved or resolved_day > ?)""", [*p2, f.end]).n.iloc[0]
        assert k["volume"] == r.volume, f
        assert k["backlog"] == backlog, f
        for key in ("median_frt", "p90_frt"):
            assert (pd.isna(k[key]) and pd.isna(r[key])) or k[key] == pytest.approx(r[key], rel=1e-12), (f, key)
    # the backlog card reads the rows the backlog chart draws
    f = views(dash)[0]
    chart = dash.backlog_trend(f)
    assert dash.kpis(f)["backlog"] == chart[chart.day == pd.Timestamp(f.end)].count_open_at_end.sum() > 0


def test_duration_quantiles_equal_one_call_per_quantile(dash, sample_wh):
    for f in views(dash)[:6]:
        for metric, basis in (("first_response", "business"), ("resolution", "calendar")):
            got = dash.duration_quantiles(f, metric, basis)
            c = data._col(metric, basis)
            w, p = data.where(f)
            want = ref(sample_wh, f"""select channel, count({c}) as n, count(*) filter (where {c} = 0) as zeros,
                           quantile_cont({c}, 0.1) as p10, quantile_cont({c}, 0.25) as p25,
                           quantile_cont({c}, 0.5) as p50, quantile_cont({c}, 0.75) as p75,
                           quantile_cont({c}, 0.9) as p90
                    from marts.fct_interactions where {w} and {c} is not null group by channel order by channel""", p)
            pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)
        got = dash.weekly_quantiles(f, "calendar")
        w, p = data.where(f)
        want = ref(sample_wh, f"""select date_trunc('week', created_day) as week, channel,
                       count(first_response_seconds) as n, min(created_day) as first_day, max(created_day) as last_day,
                       quantile_cont(first_response_seconds, 0.5) as p50,
                       quantile_cont(first_response_seconds, 0.9) as p90
                from marts.fct_interactions where {w} and first_response_seconds is not null
                group by all order by 1, 2""", p)
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)


def test_conversations_are_the_newest_rows_of_the_view(dash, sample_wh):
    for f in views(dash)[:6]:
        for limit in (0, 1, 7, 1000, 10**6):
            rows, n = dash.conversations(f, {}, limit)
            w, p = data.where(f)
            want = ref(sample_wh, f"select {data.CONVERSATION_COLUMNS} from marts.fct_interactions where {w} "
                                  "order by created_at desc, interaction_id limit ?", [*p, limit])
            assert n == ref(sample_wh, f"select count(*) as n from marts.fct_interactions where {w}", p).n.iloc[0]
            pd.testing.assert_frame_equal(rows.reset_index(drop=True), want)


def test_a_conversation_is_looked_up_near_its_view_and_found_anywhere(dash, sample_wh):
    """A conversation opened from a view is looked up within the view's created days first (the fact table's zone
    maps then skip the other row groups); the row is the one the id alone finds, and an id outside those days (a
    link typed by hand) is still found."""
    lo, hi = dash.data_bounds()
    ids = ref(sample_wh, """select interaction_id, created_day from marts.fct_interactions
                             order by created_day, interaction_id""")
    picks = [ids.iloc[0], ids.iloc[len(ids) // 2], ids.iloc[-1]]
    for iid, day in picks:
        alone = dash.conversation(iid)
        assert len(alone) == 1 and alone.interaction_id.iloc[0] == iid
        for near in ((day, day), (day - dt.timedelta(days=27), day), (lo, hi),  # the view holds it
                     (day + dt.timedelta(days=1), day + dt.timedelta(days=5)),  # it does not
                     (dt.date(1990, 1, 1), dt.date(1990, 1, 2))):
            pd.testing.assert_frame_equal(dash.conversation(iid, near), alone)
    assert dash.conversation("no-such-id", (lo, hi)).empty


def _statements(monkeypatch) -> list[str]:
    """The SQL of every statement the dashboard's query layer runs from here on (cache misses included)."""
    seen: list[str] = []
    run = data._run

    def spy(sql, params, path):
        seen.append(" ".join(sql.split()))
        return run(sql, params, path)

    monkeypatch.setattr(data, "_run", spy)
    return seen


def test_a_conversation_by_id_alone_is_read_within_the_day_its_id_s_hash_gives(sample_wh, tmp_path, monkeypatch):
    """A link with an id alone, or with days that do not hold it: the day comes from marts.interaction_lookup and
    the fact table is read within it, never by comparing every stored id. Where the lookup is missing (a snapshot
    published before it) or names a wrong day (a hash two ids share), the same row is still found, by the view's
    days or by the id alone."""
    copy = tmp_path / "copy.duckdb"
    con = duckdb.connect(str(copy))
    con.execute(f"attach '{sample_wh}' as src (read_only)")
    con.execute("copy from database src to copy")
    ids = con.execute("""select interaction_id, created_day from marts.fct_interactions
                         order by created_day, interaction_id""").fetchall()
    con.close()
    monkeypatch.setenv("CSQA_DB", str(copy))
    st.cache_data.clear()
    seen = _statements(monkeypatch)
    try:
        far = (dt.date(1990, 1, 1), dt.date(1990, 1, 2))
        for iid, day in (ids[0], ids[len(ids) // 2], ids[-1]):
            for near in (None, far):
                st.cache_data.clear()
                seen.clear()
                row = data.conversation(iid, near)
                assert row.interaction_id.tolist() == [iid]
                fact_reads = [s for s in seen if "from marts.fct_interactions" in s]
                assert len(fact_reads) == 1 + (near is not None)
                assert all(s.endswith("interaction_id = ? and created_day between ? and ?") for s in fact_reads)
            assert data._created_days(iid) == (day, day)
        assert data._created_days("no-such-id") is None and data.conversation("no-such-id").empty
        iid, day = ids[len(ids) // 2]
        want = data.conversation(iid)
        con = duckdb.connect(str(copy))
        con.execute("update marts.interaction_lookup set created_day = created_day + 400 where id_hash = hash(?)",
                    [iid])
        con.close()
        st.cache_data.clear()
        assert data._created_days(iid) == (day + dt.timedelta(days=400),) * 2
        seen.clear()
        pd.testing.assert_frame_equal(data.conversation(iid), want)  # the wrong day misses: by the id alone
        assert seen[-1].endswith("where interaction_id = ?")
        pd.testing.assert_frame_equal(data.conversation(iid, (day, day)), want)  # or by the view's days
        con = duckdb.connect(str(copy))
        con.execute("drop table marts.interaction_lookup")
        con.close()
        st.cache_data.clear()
        assert data._created_days(iid) is None
        pd.testing.assert_frame_equal(data.conversation(iid), want)
        pd.testing.assert_frame_equal(data.conversation(iid, (day, day)), want)
    finally:
        st.cache_data.clear()


def test_a_conversations_messages_and_surveys_read_within_its_send_times_are_all_of_them(dash, sample_wh):
    """The conversation page reads an interaction's messages and surveys within the send times its fact row holds
    (through the zone maps of sent_at): for every interaction with events, and one without, that is exactly what the
    id alone finds; a row without the send times (a snapshot published before the fact table kept them) reads by id
    alone."""
    counts = ref(sample_wh, """select interaction_id, count_messages, count_surveys_sent,
                                      (select count(*) from raw.messages as m where m.interaction_id = f.interaction_id)
                                          as stored_messages
                               from marts.fct_interactions as f""")
    assert (counts.count_messages.fillna(0) == counts.stored_messages).all()
    with_both = counts[(counts.count_messages > 2) & (counts.count_surveys_sent > 0)].interaction_id
    without = counts[counts.count_messages.isna() & (counts.count_surveys_sent == 0)].interaction_id
    assert len(with_both) > 20 and len(without) > 0
    for iid in [*with_both.iloc[:20], without.iloc[0]]:
        r = dash.conversation(iid).iloc[0]
        for kind, read in (("message", dash.conversation_messages), ("survey", dash.conversation_surveys)):
            sent = dash.event_bounds(r, kind)
            alone = read(iid)
            pd.testing.assert_frame_equal(read(iid, sent), alone)
            if alone.empty:
                assert sent == (None, None)
            else:
                assert sent == (alone.sent_at.min().to_pydatetime(), alone.sent_at.max().to_pydatetime())


def test_a_conversation_on_a_snapshot_without_the_send_times_reads_its_events_by_id(sample_wh, tmp_path, monkeypatch):
    """A snapshot published before the fact table kept the events' send times (the next load adds them): the
    conversation is found, without them, and its messages are read by id alone."""
    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))
    con.execute(f"attach '{sample_wh}' as src (read_only)")
    con.execute("copy from database src to old")
    for c in ("first_message_sent_at", "last_message_sent_at", "first_survey_sent_at", "last_survey_sent_at"):
        con.execute(f"alter table marts.fct_interactions drop column {c}")
    iid = con.execute("select interaction_id from marts.fct_interactions where count_messages > 2 limit 1"
                      ).fetchone()[0]
    con.close()
    monkeypatch.setenv("CSQA_DB", str(old))
    st.cache_data.clear()
    try:
        r = data.conversation(iid).iloc[0]
        assert r.interaction_id == iid and "first_message_sent_at" not in r.index
        assert data.event_bounds(r, "message") is None and data.event_bounds(r, "survey") is None
        assert len(data.conversation_messages(iid, data.event_bounds(r, "message"))) > 2
    finally:
        st.cache_data.clear()


def test_agents_table_agrees_with_agent_daily_and_applies_every_filter(dash, sample_wh):
    """The agents table (the fact table with every filter) has marts.agent_daily's contacts and rates over the
    dates alone, a median first response computed here from the rows, and follows a channel filter."""
    f = views(dash)[0]
    got = dash.agents(f).set_index("agent_id")
    want = ref(sample_wh, """select agent_id, sum(count_interactions) as contacts,
                                   sum(count_reopened) / nullif(sum(count_reopen_eligible), 0) as reopen_rate,
                                   sum(count_one_touch) / nullif(sum(count_one_touch_eligible), 0) as one_touch,
                                   sum(count_rated) as rated, sum(count_satisfied) / nullif(sum(count_rated), 0) as csat
                            from marts.agent_daily where created_day between ? and ? group by agent_id""",
               [f.start, f.end]).set_index("agent_id")
    assert len(got) > 3 and sorted(got.index) == sorted(want.index)
    w = want.loc[got.index]
    assert (got.contacts.to_numpy() == w.contacts.to_numpy()).all() and (got.rated == w.rated).all()
    for a, b in (("reopen_rate", "reopen_rate"), ("one_touch_rate", "one_touch"), ("csat_share", "csat")):
        np.testing.assert_allclose(got[a].astype(float), w[b].astype(float), equal_nan=True)
    agent = got.index[0]
    frt = ref(sample_wh, "select first_response_seconds as s from marts.fct_interactions where agent_id = ? "
                         "and created_day between ? and ? and first_response_seconds is not null",
              [agent, f.start, f.end]).s.to_numpy()
    assert got.loc[agent, "median_frt_seconds"] == pytest.approx(np.median(frt))
    channel = dash.filter_options()["channel"][0]
    one = dash.agents(dash.Filters(f.start, f.end, {"channel": (channel,)}))
    n = ref(sample_wh, "select count(*) as n from marts.fct_interactions where agent_id is not null and channel = ? "
                       "and created_day between ? and ?", [channel, f.start, f.end]).n.iloc[0]
    assert one.contacts.sum() == n < got.contacts.sum()


@pytest.mark.parametrize("zone", ["Asia/Kathmandu", "America/New_York", "Australia/Lord_Howe"])
def test_hour_of_week_equals_converting_every_row(tmp_path, monkeypatch, zone):
    """Counting per 15-minute UTC slot and converting the slot is exact, also at a +05:45 offset, across
    daylight-saving changes and at a half-hour daylight-saving shift (Lord Howe)."""
    db = tmp_path / "h.duckdb"
    con = duckdb.connect(str(db))
    con.execute("set timezone = 'UTC'")
    con.execute("create schema marts; create schema staging")
    con.execute("create table staging.settings as select ? as reporting_timezone", [zone])
    rng = np.random.default_rng(3)
    start = pd.Timestamp("2026-01-01", tz="UTC").value // 10**9
    secs = rng.integers(start, start + 365 * 86400, 20000)
    secs = np.concatenate([secs, secs[:500] - secs[:500] % 900, secs[:500] - secs[:500] % 900 - 1])  # slot edges
    con.register("_t", pd.DataFrame({"s": secs}))
    con.execute(f"""create table marts.fct_interactions as
                    select to_timestamp(s) as created_at,
                           cast(timezone('{zone}', to_timestamp(s)) as date) as created_day from _t""")
    want = con.execute(f"""select isodow(timezone('{zone}', created_at)) as weekday,
                                  hour(timezone('{zone}', created_at)) as hour, count(*) as contacts
                           from marts.fct_interactions group by all order by 1, 2""").df()
    con.close()
    monkeypatch.setenv("CSQA_DB", str(db))
    st.cache_data.clear()
    got = data.hour_of_week(data.Filters(dt.date(2025, 12, 1), dt.date(2027, 1, 31), {}))
    st.cache_data.clear()
    got = got.sort_values(["weekday", "hour"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert got.contacts.sum() == len(secs)


def test_filter_values_data_test_fails_on_a_broken_mart(sample_wh, tmp_path):
    import shutil

    db = tmp_path / "b.duckdb"
    shutil.copyfile(sample_wh, db)
    assert all(r["failing_rows"] == 0 for r in run_checks(db) if r["test"] == "filter_values_match_fact")
    con = duckdb.connect(str(db))
    con.execute("delete from marts.filter_values where rowid = 0")
    con.close()
    broken = [r for r in run_checks(db) if r["test"] == "filter_values_match_fact"]
    assert broken and broken[0]["failing_rows"] == 1


# the KPI cards as the fact table counts them (the query kpis ran before marts.kpi_daily; the quantiles in one call,
# as there: DuckDB's list form can differ from one call per quantile in the last bit)
KPI_FACT = """select count(*) as volume,
                   count(*) filter (where resolution_sla_status = 'met') as res_met,
                   count(*) filter (where resolution_sla_status = 'breached') as res_breached,
                   count(*) filter (where reopen_count > 0) as reopened,
                   count(*) filter (where is_resolved or reopen_count > 0) as reopen_eligible,
                   count(*) filter (where is_one_touch) as one_touch,
                   count(is_one_touch) filter (where is_resolved) as one_touch_eligible,
                   quantile_cont(first_response_seconds, [0.5, 0.9])[1] as median_frt,
                   quantile_cont(first_response_seconds, [0.5, 0.9])[2] as p90_frt,
                   count(*) filter (where first_response_sla_status = 'met') as sla_met,
                   count(*) filter (where first_response_sla_status = 'breached') as sla_breached,
                   count(*) filter (where first_response_sla_status = 'unknown'
                                    or resolution_sla_status = 'unknown') as sla_unknown,
                   count(csat_score) as rated,
                   count(*) filter (where is_satisfied) as satisfied
            from marts.fct_interactions where {w}"""


def kpi_views(dash) -> list:
    """The views of ``views`` and more: every filter alone (topic: one the mart cannot serve), single days, a
    value with no rows, days without data."""
    lo, hi = dash.data_bounds()
    opts = dash.filter_options()
    f = views(dash)[0]
    more = [dash.Filters(f.start, f.end, {name: (opts[name][1],)}) for name in data.FILTER_COLUMNS]
    more += [dash.Filters(d, d, v) for d in (lo, hi, hi - dt.timedelta(days=3))
             for v in ({}, {"channel": (opts["channel"][2],)})]
    more += [dash.Filters(f.start, f.end, {"channel": ("no such channel",)}),
             dash.Filters(f.start, f.end, {"region": tuple(opts["region"][:3]), "team": tuple(opts["team"][1:])})]
    return views(dash) + more


def test_kpi_cards_equal_the_fact_table_exactly(dash, sample_wh):
    """Every count and both first-response quantiles of the KPI cards equal the fact table's, bit for bit: the
    counts from marts.kpi_daily (filters it has a column for) or the fact table (topic)."""
    checked = 0
    for f in kpi_views(dash):
        k = dash.kpis(f)
        w, p = data.where(f)
        want = ref(sample_wh, KPI_FACT.format(w=w), p).iloc[0]
        for key, value in want.items():
            assert (pd.isna(k[key]) and pd.isna(value)) or k[key] == value, (f, key, k[key], value)
        checked += want.volume > 0 and not pd.isna(want.median_frt)
    assert checked >= 12


def test_kpi_cards_read_the_mart_and_fall_back_where_it_cannot_serve(dash, sample_wh, tmp_path, monkeypatch):
    """With marts.kpi_daily's counts doubled (a copy), the cards of a view filtered on channel, language, region or
    team show the doubled counts (they read the mart), those filtered on topic do not (the fact table); a snapshot
    without the mart (published before it existed) counts on the fact table."""
    import shutil

    lo, hi = dash.data_bounds()
    f = dash.Filters(max(lo, hi - dt.timedelta(days=27)), hi, {})
    opts = dash.filter_options()
    served = [f, dash.Filters(f.start, f.end, {"channel": (opts["channel"][0],), "team": (opts["team"][0],)})]
    topic = dash.Filters(f.start, f.end, {"topic": (opts["topic"][0],), "channel": (opts["channel"][0],)})
    true = {v.key(): dash.kpis(v) for v in [*served, topic]}
    db = tmp_path / "doubled.duckdb"
    shutil.copyfile(sample_wh, db)
    con = duckdb.connect(str(db))
    con.execute("update marts.kpi_daily set count_interactions = 2 * count_interactions, "
                "count_rated = 2 * count_rated")
    con.close()
    monkeypatch.setenv("CSQA_DB", str(db))
    st.cache_data.clear()
    for v in served:
        got = dash.kpis(v)
        assert got["volume"] == 2 * true[v.key()]["volume"] > 0 and got["rated"] == 2 * true[v.key()]["rated"]
        assert got["median_frt"] == true[v.key()]["median_frt"]
    assert dash.kpis(topic) == true[topic.key()]
    con = duckdb.connect(str(db))
    con.execute("drop table marts.kpi_daily")
    con.close()
    st.cache_data.clear()
    for v in [*served, topic]:
        assert dash.kpis(v) == true[v.key()]
        assert dash.teams(v).equals(_teams_fact(dash, v))


def test_a_channel_card_and_the_channel_table_agree(dash):
    """Filtered on one channel, the median first-response card equals that channel's median (calendar) in the
    per-channel table under it, and its volume the table's contacts."""
    lo, hi = dash.data_bounds()
    f = dash.Filters(max(lo, hi - dt.timedelta(days=27)), hi, {})
    table = dash.channel_summary(f).set_index("channel")
    for channel in dash.filter_options()["channel"]:
        k = dash.kpis(dash.Filters(f.start, f.end, {"channel": (channel,)}))
        assert k["volume"] == table.loc[channel, "contacts"]
        assert k["median_frt"] == table.loc[channel, "median_calendar"]


def _teams_fact(dash, f) -> pd.DataFrame:
    return dash._per_person(f, "coalesce(team, 'unassigned') as team")


def test_teams_and_agents_tables_equal_the_fact_table(dash):
    """The teams table (counts from marts.kpi_daily) and the agents table (counts from marts.agent_daily when only
    dates are chosen) equal the plain per-person query on the fact table, on every view."""
    agents = 0
    for f in kpi_views(dash):
        got, want = dash.teams(f), _teams_fact(dash, f)
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False)
        got, want = dash.agents(f), dash._per_person(f, "agent_id", " and agent_id is not null")
        agents += len(want) if not f.values else 0
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False)
    assert agents > 50


def test_kpi_daily_data_test_fails_on_a_broken_mart(sample_wh, tmp_path):
    import shutil

    db = tmp_path / "b.duckdb"
    shutil.copyfile(sample_wh, db)
    assert [r["failing_rows"] for r in run_checks(db) if r["test"] == "kpi_daily_matches_fact"] == [0]
    con = duckdb.connect(str(db))
    con.execute("update marts.kpi_daily set count_satisfied = count_satisfied + 1 where rowid = 3")
    con.close()
    assert [r["failing_rows"] for r in run_checks(db) if r["test"] == "kpi_daily_matches_fact"] == [1]


def test_the_snapshot_session_is_kept_locked_down_and_never_holds_the_warehouse(sample_wh, tmp_path, monkeypatch):
    """Queries on a published snapshot share one kept read-only session (cursors in UTC whatever the process's zone,
    no external access, configuration locked, memory capped); the warehouse file itself stays free for a load, and
    a warehouse without a snapshot is opened per query, never kept."""
    import shutil

    from csqa.pipeline.ops.snapshots import reader_path

    shutil.copytree(sample_wh.parent, tmp_path / "w")
    db = tmp_path / "w" / sample_wh.name
    monkeypatch.setenv("CSQA_DB", str(db))
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    st.cache_data.clear()
    snap = str(reader_path(db))
    assert snap != str(db)
    assert data.kpis(data.Filters(*data.data_bounds(), {}))["volume"] > 0
    assert list(data._session) == [snap]
    cur = data._snapshot_cursor(snap)
    try:
        assert cur.execute("select current_setting('TimeZone'), current_setting('enable_external_access'), "
                           "current_setting('memory_limit')").fetchall() == [("UTC", False, "953.6 MiB")]
        for stmt in ("set enable_external_access = true", "set timezone = 'Asia/Tokyo'",
                     "set memory_limit = '20GB'"):
            with pytest.raises(duckdb.Error):
                cur.execute(stmt)
        with pytest.raises(duckdb.Error):
            cur.execute("create table t (x int)")
    finally:
        cur.close()
    con = duckdb.connect(str(db))  # a load's writer: the kept session does not hold the warehouse file
    con.execute("create table audit.t (x int)")
    con.close()
    running = data._snapshot_cursor(snap)  # a query still running when a newer snapshot replaces the session
    other = tmp_path / "o"
    shutil.copytree(sample_wh.parent, other)
    monkeypatch.setenv("CSQA_DB", str(other / sample_wh.name))
    newer = str(reader_path(other / sample_wh.name))
    data._snapshot_cursor(newer).close()
    assert list(data._session) == [newer]
    assert running.execute("select count(*) from marts.kpi_daily").fetchall()[0][0] > 0
    running.close()
    monkeypatch.setenv("CSQA_DB", str(db))
    plain = tmp_path / "plain.duckdb"  # no snapshot published: opened per query, never kept
    shutil.copyfile(sample_wh, plain)
    monkeypatch.setenv("CSQA_DB", str(plain))
    st.cache_data.clear()
    assert data._snapshot_cursor(str(plain)) is None
    assert data.data_bounds()[0] is not None and list(data._session) == [newer]
    st.cache_data.clear()


def test_the_kept_session_keeps_csqa_sqls_session_off_its_snapshot_in_one_process(sample_wh, tmp_path, monkeypatch):
    """docs/OPERATIONS.md: the kept session's memory cap is a connection setting, so in the same process csqa sql's
    session cannot open the same snapshot (DuckDB refuses one file under two configurations): a clear
    WarehouseError, not a crash. Before the dashboard's session is open, csqa sql's opens it as always."""
    import shutil

    from csqa.pipeline.errors import WarehouseError
    from csqa.pipeline.model.warehouse import connect_reader
    from csqa.pipeline.ops.snapshots import reader_path

    shutil.copytree(sample_wh.parent, tmp_path / "w")
    db = tmp_path / "w" / sample_wh.name
    monkeypatch.setenv("CSQA_DB", str(db))
    st.cache_data.clear()
    snap = reader_path(db)
    con = connect_reader(snap)
    con.close()
    data._session.clear()
    data.data_bounds()
    assert list(data._session) == [str(snap)]
    with pytest.raises(WarehouseError, match="different configuration"):
        connect_reader(snap)
    data._session.clear()
    st.cache_data.clear()


def test_a_conversation_in_a_lake_reads_every_stored_message(tmp_path, monkeypatch):
    """In a lake the raw files can be ahead of the marts (csqa spark load --no-refresh, a failed refresh): the
    conversation page reads a conversation's events by id there, not within the send times its fact row holds, so
    a message the marts have not seen yet is shown."""
    lake = tmp_path / "lake"
    (lake / "marts" / "fct_interactions").mkdir(parents=True)
    con = duckdb.connect()
    row = ", ".join(f"null::varchar as {c}" for c in (
        "channel", "priority", "status", "language", "region", "topic", "team", "agent_id", "subject", "first_message",
        "first_response_sla_status", "resolution_sla_status", "csat_comment"))
    nums = ", ".join(f"null::double as {c}" for c in (
        "first_response_seconds", "first_response_business_seconds", "first_response_target_seconds",
        "resolution_seconds", "resolution_business_seconds", "resolution_target_seconds", "reopen_count",
        "count_reply_waits", "count_next_replies", "max_next_reply_seconds", "csat_score"))
    times = ", ".join(f"null::timestamptz as {c}" for c in (
        "first_response_at", "resolved_at", "csat_responded_at", "first_survey_sent_at", "last_survey_sent_at"))
    # the fact row as the last refresh wrote it: one message; a second one loaded since without a refresh
    con.execute(f"""copy (select 'I1' as interaction_id, '2026-11-02 09:00:00+00'::timestamptz as created_at,
                                 date '2026-11-02' as created_day, {row}, {nums}, {times},
                                 '2026-11-02 09:01:00+00'::timestamptz as first_message_sent_at,
                                 '2026-11-02 09:01:00+00'::timestamptz as last_message_sent_at)
                    to '{lake}/marts/fct_interactions/part-0.parquet'""")
    for day, mid, sent in (("2026-11-02", "m1", "2026-11-02 09:01:00+00"),
                           ("2026-11-05", "m2", "2026-11-05 10:00:00+00")):
        (lake / "raw" / "messages" / f"created_day={day}").mkdir(parents=True)
        con.execute(f"""copy (select '{mid}' as message_id, 'I1' as interaction_id, 'customer' as sender_role,
                                     '{sent}'::timestamptz as sent_at, true as is_public, 'hi' as text)
                        to '{lake}/raw/messages/created_day={day}/part-0.parquet'""")
    monkeypatch.setenv("CSQA_LAKE", str(lake))
    st.cache_data.clear()
    try:
        r = data.conversation("I1").iloc[0]
        assert data.event_bounds(r, "message") is None
        assert list(data.conversation_messages("I1", data.event_bounds(r, "message")).text) == ["hi", "hi"]
    finally:
        st.cache_data.clear()
