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
