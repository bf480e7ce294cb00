"""Every dashboard page under Streamlit's AppTest, against a real warehouse built from sample_data/."""

import base64
import json
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from csqa.dashboard import charts
from tests.conftest import ROOT, write

APP = str(ROOT / "dashboard" / "app.py")
PAGES = ["views/response_times.py", "views/satisfaction.py", "views/agents.py", "views/faq_gaps.py",
         "views/data_quality.py", "views/conversations.py"]


@pytest.fixture
def app(sample_wh, monkeypatch):
    monkeypatch.setenv("CSQA_DB", str(sample_wh))
    st.cache_data.clear()
    yield lambda: AppTest.from_file(APP, default_timeout=60)
    st.cache_data.clear()


def numbers(v) -> np.ndarray:
    """plotly may ship arrays as typed binary: {'dtype': 'i4', 'bdata': '...'}."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return np.asarray(v, dtype=float)


def figure(at, i=0) -> dict:
    return json.loads(at.get("plotly_chart")[i].proto.spec)


def metric(at, label) -> str:
    return next(m.value for m in at.metric if m.label == label)


def count(db, sql, params=()):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()[0][0]
    finally:
        con.close()


def test_overview_cards_agree_with_the_charts(app, sample_wh):
    at = app().run()
    assert not at.exception
    assert len(at.metric) == 7
    volume = int(metric(at, "Contacts").replace(",", ""))
    daily = figure(at, 0)
    assert sum(numbers(tr["y"]).sum() for tr in daily["data"]) == volume
    how = figure(at, 2)
    z = how["data"][0]["z"]
    assert (numbers(z).sum() if isinstance(z, dict) else np.asarray(z, dtype=float).sum()) == volume
    start, end = at.query_params["start"], at.query_params["end"]
    assert volume == count(sample_wh, "select count(*) from marts.fct_interactions where created_day between ? and ?",
                           [start, end])
    # the default range ends at the newest data, not today
    assert end == str(count(sample_wh, "select max(created_day) from marts.fct_interactions"))


def test_a_filter_moves_cards_and_charts_together(app, sample_wh):
    at = app()
    at.query_params["channel"] = "email"
    at.run()
    assert not at.exception
    assert at.query_params["channel"] == "email"
    volume = int(metric(at, "Contacts").replace(",", ""))
    start, end = at.query_params["start"], at.query_params["end"]
    assert volume == count(sample_wh, "select count(*) from marts.fct_interactions where channel = 'email' "
                                      "and created_day between ? and ?", [start, end])
    daily = figure(at, 0)
    assert [tr["name"] for tr in daily["data"]] == ["Email"]  # the label, not the code
    assert numbers(daily["data"][0]["y"]).sum() == volume


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(app, page):
    at = app().run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert not at.error
    assert at.title and at.caption  # a title and the "last loaded" footer
    assert any("last loaded" in c.value for c in at.caption)
    if page != "views/conversations.py":
        assert at.get("plotly_chart") or at.dataframe


def test_the_loads_table_shows_file_names_and_a_dash_for_no_error(app, sample_wh):
    at = app().run()
    at.switch_page("views/data_quality.py").run()
    assert not at.exception, at.exception
    loads = next(d.value for d in at.dataframe if "source_file" in d.value.columns)
    stored = count(sample_wh, "select count(*) from audit.load_batches")
    assert len(loads) == min(stored, 30)
    assert "/" not in "".join(loads.source_file) and loads.source_file.str.endswith(".csv").all()
    assert loads.error.notna().all() and loads.notes.notna().all()
    assert (loads.error == "–").sum() == count(sample_wh, "select count(*) from audit.load_batches where error is null")
    at = app()
    at.query_params["lang"] = "zh"
    at.run()
    at.switch_page("views/data_quality.py").run()
    zh = next(d.value for d in at.dataframe if "source_file" in d.value.columns)
    assert set(zh.status) == {"已加载"} and list(zh.source_file) == list(loads.source_file)
    # the entity in words, not the table's name: 会话, 消息, 满意度调查, FAQ 文章
    assert set(zh.entity) == {"会话", "消息", "满意度调查", "FAQ 文章"}
    assert set(loads.entity) == {"interactions", "messages", "CSAT surveys", "FAQ articles"}
    bars = figure(at, 0)["data"][0]["y"]
    assert bars and all(str(y).startswith(("会话 · ", "消息 · ", "满意度调查 · ")) for y in bars)


def test_the_quarantine_shows_each_checks_failing_values_and_a_readable_name(app, sample_wh):
    """A new user's review: the bars' labels stopped at "isin(['web_chat', 'app_chat', 'ticket'," and the page never
    showed the values that failed, so a manager could not see that 'fax' came where a channel was expected. The
    table beside the bars gives each check's rows and values (as stored), the check named as people read it."""
    at = app().run()
    at.switch_page("views/data_quality.py").run()
    assert not at.exception, at.exception
    checks = next(d.value for d in at.dataframe if "examples" in d.value.columns)
    stored = count(sample_wh, "select count(distinct (batch_id, source_file, row_number)) from audit.quarantine")
    assert checks.rows.sum() >= stored and len(checks) == count(
        sample_wh, "select count(*) from (select distinct entity, column_name, check_name from audit.quarantine)")
    channel = checks[checks.column_name == "channel"].iloc[0]
    assert channel.check_name == "isin(…)" and channel.examples == "fax"
    assert checks[checks.column_name == "region"].iloc[0].check_name == "str_matches('^[A-Z]{2}$')"  # short: whole
    assert (checks[checks.check_name == "not_nullable"].examples == "–").all()  # no value to show
    bars = figure(at, 0)["data"][0]["y"]
    assert "interactions · channel · isin(…)" in bars and not any("['" in b for b in bars)  # no value lists


def test_response_times_show_targets_and_switch_basis(app):
    at = app().run()
    at.switch_page("views/response_times.py").run()
    box = figure(at, 0)
    assert any(tr.get("name") == "SLA target" for tr in box["data"])  # business time: targets drawn
    assert len(at.dataframe) == 2  # next reply, breaches
    at.radio(key="rt_basis").set_value("calendar").run()
    assert at.query_params["basis"] == "calendar"
    assert not any(tr.get("name") == "SLA target" for tr in figure(at, 0)["data"])  # targets are business time


def test_satisfaction_card_matches_the_weekly_chart(app, sample_wh):
    at = app().run()
    at.switch_page("views/satisfaction.py").run()
    n = int(metric(at, "Ratings").replace(",", ""))
    start, end = at.query_params["start"], at.query_params["end"]
    assert n == count(sample_wh, "select count(csat_score) from marts.fct_interactions "
                                 "where created_day between ? and ?", [start, end])
    share = float(metric(at, "Satisfied (CSAT)").rstrip("%")) / 100
    sat = count(sample_wh, "select count(*) from marts.fct_interactions where is_satisfied "
                           "and created_day between ? and ?", [start, end])
    assert share == pytest.approx(sat / n, abs=0.0005)


def test_conversations_follow_a_drill_down(app, sample_wh):
    at = app()
    at.query_params.update({"start": "2026-11-10", "end": "2026-11-10", "drill_channel": "email",
                            "drill_day": "2026-11-10"})
    at.run()
    assert not at.exception
    at.switch_page("views/conversations.py")
    at.query_params.update({"start": "2026-11-10", "end": "2026-11-10", "drill_channel": "email",
                            "drill_day": "2026-11-10"})
    at.run()
    assert not at.exception
    expected = count(sample_wh, "select count(*) from marts.fct_interactions where channel = 'email' "
                                "and created_day = date '2026-11-10'")
    assert any(f"of {expected:,} interactions" in c.value for c in at.caption)
    assert len(at.dataframe[0].value) == expected


INJECTIONS = ["x' or '1'='1", "email'; drop table raw.interactions; --", "') union select * from audit.quarantine --"]


@pytest.mark.parametrize("evil", INJECTIONS)
def test_url_parameters_never_reach_sql_as_text(app, sample_wh, evil):
    before = count(sample_wh, "select count(*) from raw.interactions")
    at = app()
    at.query_params.update({"channel": evil, "topic": evil, "start": evil})
    at.run()
    assert not at.exception
    at.switch_page("views/conversations.py")
    at.query_params.update({"drill_channel": evil, "drill_day": "2026-11-10"})
    at.run()
    assert not at.exception
    assert any("of 0 interactions" in c.value for c in at.caption)
    assert count(sample_wh, "select count(*) from raw.interactions") == before


def test_chinese_labels(app):
    at = app()
    at.query_params["lang"] = "zh"
    at.run()
    assert not at.exception
    assert at.title[0].value == "总览"
    assert any(m.label == "咨询量" for m in at.metric)


def test_missing_warehouse_says_how_to_load(monkeypatch, tmp_path):
    monkeypatch.setenv("CSQA_DB", str(tmp_path / "nothing.duckdb"))
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert any("No data yet" in w.value for w in at.warning)
    assert any("csqa load" in c.value for c in at.code)


def test_a_warehouse_of_empty_deliveries_shows_the_no_data_screen(monkeypatch, tmp_path):
    """A first nightly that received only empty exports writes a batch and marts with no interaction: every page
    failed ("'NAType' object is not iterable", an operator review); it is the screen that says how to load."""
    from csqa.pipeline.config import load_config
    from csqa.pipeline.ingest.load import load

    write(tmp_path / "in" / "interactions.jsonl", "")
    db = tmp_path / "csqa.duckdb"
    load([tmp_path / "in"], db, load_config(None))
    monkeypatch.setenv("CSQA_DB", str(db))
    st.cache_data.clear()
    for page in ("views/overview.py", "views/data_quality.py", "views/faq_gaps.py"):
        at = AppTest.from_file(APP, default_timeout=60).run()
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert any("csqa load" in c.value for c in at.code), page
    st.cache_data.clear()


def test_missing_lake_says_how_to_build_it(monkeypatch, tmp_path):
    """csqa dashboard --lake on a folder without marts names the lake and the Spark commands, not the warehouse."""
    monkeypatch.setenv("CSQA_LAKE", str(tmp_path / "lake"))
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert any("No data yet" in w.value for w in at.warning)
    assert [c.value for c in at.code] == [f"csqa spark load sample_data/ --lake {tmp_path / 'lake'}\n"
                                          f"csqa dashboard --lake {tmp_path / 'lake'}"]
    assert [c.value for c in at.caption if "lake" in c.value] == [f"lake: {tmp_path / 'lake'}"]


def test_wilson_interval_matches_the_sql_macro():
    lo, hi = charts.wilson(1, 2)
    assert (round(lo, 4), round(hi, 4)) == (0.0945, 0.9055)


BAD_DRILLS = [{"drill_day": "2026-13-45"}, {"drill_week": "not-a-week"}, {"drill_day": "2026-11-10'; select 1 --"},
              {"drill_week": "2026-W99"}, {"drill_sla": "met' or 1=1"}, {"drill_region": "Atlantis"},
              {"drill_nonsense": "1"}, {"drill_day": "9" * 80}]


@pytest.mark.parametrize("bad", BAD_DRILLS)
def test_a_bad_drill_value_shows_a_notice_not_a_traceback(app, bad):
    """Issue 13: every URL value is parsed and checked before it reaches SQL."""
    at = app()
    at.switch_page("views/conversations.py")
    at.query_params.update({"start": "2026-11-10", "end": "2026-11-16", **bad})
    at.run()
    assert not at.exception
    assert any("not valid" in w.value and next(iter(bad)) in w.value for w in at.warning)
    assert any("of 0 interactions" in c.value for c in at.caption)


def test_a_week_drill_opens_that_iso_week(app, sample_wh):
    at = app()
    at.switch_page("views/conversations.py")
    for week in ("2026-W46", "2026-11-12"):  # as an ISO week, or as any day of it: Monday 2026-11-09 to Sunday
        at.query_params.clear()
        at.query_params.update({"start": "2026-11-01", "end": "2026-11-24", "drill_week": week})
        at.run()
        assert not at.exception and not at.warning
        expected = count(sample_wh, "select count(*) from marts.fct_interactions "
                                    "where created_day between date '2026-11-09' and date '2026-11-15'")
        assert any(f"of {expected:,} interactions" in c.value for c in at.caption), [c.value for c in at.caption]


# ---- issue 12: state that carries, drill-down everywhere, readable numbers, full Chinese -------------------

from csqa.dashboard import common, data, theme  # noqa: E402
from csqa.dashboard.i18n import LABELS, VALUES, t  # noqa: E402

ALL_PAGES = ["views/overview.py", *PAGES, "views/conversation.py"]


def test_a_links_filters_and_language_carry_to_every_page(app, sample_wh):
    at = app()
    at.query_params.update({"channel": "email", "start": "2026-11-01", "end": "2026-11-24", "lang": "zh"})
    at.run()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, page
        assert at.query_params["channel"] == "email", page
        assert at.query_params["start"] == "2026-11-01" and at.query_params["lang"] == "zh", page
    at.switch_page("views/response_times.py").run()
    titles = [a["text"] for a in figure(at, 0)["layout"]["annotations"]]
    assert titles == ["邮件<br><sub>小时</sub>"]  # one panel: the email channel, named in Chinese, with its unit


def test_a_link_with_unknown_filter_values_says_so(app):
    at = app()
    at.query_params.update({"channel": "email,fax", "region": "Atlantis", "start": "2026-02-31"})
    at.run()
    assert not at.exception
    text = " ".join(w.value for w in at.warning)
    assert "channel = fax" in text and "region = Atlantis" in text and "start = 2026-02-31" in text
    assert at.query_params["channel"] == "email"


def drill_count(at, params) -> int:
    at.switch_page("views/conversations.py")
    at.query_params.clear()
    at.query_params.update(params)
    at.run()
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    shown = next(c.value for c in at.caption if "interactions shown" in c.value)
    return int(shown.split(" of ")[1].split(" ")[0].replace(",", ""))


def test_a_channels_box_opens_exactly_the_conversations_it_counts(app):
    at = app()
    at.query_params.update({"start": "2026-11-01", "end": "2026-11-24"})
    at.run()
    at.switch_page("views/response_times.py").run()
    for tr in figure(at, 0)["data"]:
        if tr["type"] != "bar":  # the clickable layer over each box
            continue
        channel = tr["customdata"][0][0]
        n = int(tr["hovertemplate"].split("n=")[1].split("<")[0].replace(",", ""))
        got = drill_count(app(), {"start": "2026-11-01", "end": "2026-11-24", "drill_channel": channel,
                                  "drill_has": "first_response_business_seconds"})
        assert got == n, channel


def test_an_sla_heatmap_cell_opens_exactly_its_conversations(app):
    at = app()
    at.query_params.update({"start": "2026-11-01", "end": "2026-11-24"})
    at.run()
    at.switch_page("views/response_times.py").run()
    heat = next(f for f in (figure(at, i) for i in range(len(at.get("plotly_chart"))))
                if any(tr["type"] == "heatmap" for tr in f["data"]))
    cells = next(tr for tr in heat["data"] if tr["type"] == "scatter")["customdata"]
    assert len(cells) > 3
    for channel, week, sla, n, _rate in cells[:3]:
        got = drill_count(app(), {"start": "2026-11-01", "end": "2026-11-24", "drill_channel": channel,
                                  "drill_week": week, "drill_sla": sla})
        assert got == int(n)


def test_the_conversation_view_shows_messages_waits_and_survey(app, sample_wh):
    cid = count(sample_wh, "select interaction_id from marts.fct_interactions where csat_score is not null "
                           "and count_messages >= 3 order by interaction_id limit 1")
    at = app().run()
    at.switch_page("views/conversation.py")
    at.query_params["id"] = cid
    at.run()
    assert not at.exception
    messages, survey = at.dataframe[0].value, at.dataframe[1].value
    assert len(messages) == count(sample_wh, "select count(*) from raw.messages where interaction_id = ?", [cid])
    assert len(survey) == count(sample_wh, "select count(*) from raw.csat_surveys where interaction_id = ?", [cid])
    first_wait = messages["wait_seconds"].iloc[0]
    assert first_wait  # the first customer message waited for the first agent reply, in human units
    assert any(u in first_wait for u in (" s", " min", " h", " d"))


def test_an_unknown_conversation_id_says_so(app):
    at = app().run()
    at.switch_page("views/conversation.py")
    at.query_params["id"] = "x' or 1=1 --"
    at.run()
    assert not at.exception
    assert any("No conversation has the id" in w.value for w in at.warning)


def test_a_filter_that_matches_nothing_shows_an_empty_state(app, sample_wh):
    at = app()
    # a real region and a real language that never occur together in the range
    region, language = count(sample_wh, """
        with r as (select distinct coalesce(region, 'unknown') as region from marts.fct_interactions),
             l as (select distinct language from marts.fct_interactions)
        select [r.region, l.language] from r cross join l
        where not exists (select 1 from marts.fct_interactions as f
                          where coalesce(f.region, 'unknown') = r.region and f.language = l.language)
        order by 1 limit 1""")
    at.query_params.update({"region": region, "language": language})
    at.run()
    for page in ["views/overview.py", "views/response_times.py", "views/satisfaction.py", "views/agents.py",
                 "views/conversations.py"]:
        at.switch_page(page).run()
        assert not at.exception, page
        assert any("Nothing matches these filters" in i.value for i in at.info), page
        assert not at.get("plotly_chart"), page  # no empty axes


def test_no_change_is_shown_against_an_empty_previous_period(app, sample_wh):
    lo = count(sample_wh, "select min(created_day) from marts.fct_interactions")
    at = app()
    at.query_params.update({"start": str(lo), "end": str(lo + __import__("datetime").timedelta(days=6))})
    at.run()
    assert not at.exception
    assert all(not m.proto.delta for m in at.metric)
    assert any("no previous data" in c.value for c in at.caption)


def test_a_change_that_rounds_to_nothing_is_neither_a_rise_nor_a_fall():
    """90.046 % against 90.084 % showed a red arrow down and "-0.0 pt" (a new user's review)."""
    from csqa.dashboard.common import metric_delta

    points = lambda d: f"{100 * d:+.1f} pt"  # noqa: E731 (as the overview shows rates)
    assert metric_delta(787 / 874, 863 / 958, points) == {"delta": "±0.0 pt", "delta_color": "off",
                                                           "delta_arrow": "off"}
    assert metric_delta(0.90, 0.85, points) == {"delta": "+5.0 pt", "delta_color": "normal"}
    assert metric_delta(0.10, 0.12, points, inverse=True) == {"delta": "-2.0 pt", "delta_color": "inverse"}
    assert metric_delta(5, 5, lambda d: f"{int(d):+,}", inverse=True)["delta"] == "±0"
    assert metric_delta(None, 0.5, points) == {"delta": None} == metric_delta(float("nan"), 0.5, points)


def test_durations_read_in_one_unit_per_magnitude_in_both_languages():
    assert theme.human_duration(42) == "42 s"
    assert theme.human_duration(210) == "3.5 min"
    assert theme.human_duration(30_240) == "8.4 h"
    assert theme.human_duration(86_400 * 3) == "3.0 d"
    assert theme.human_duration(0) == "0 s"  # a business time of zero is a value, not a gap
    assert theme.human_duration(210, "zh") == "3.5 分钟"
    assert theme.human_change(1_692, like=30_240) == "+0.5 h"  # the change in the unit of its value


def test_weeks_are_labelled_by_monday_and_partial_ones_marked():
    import datetime as d
    monday = d.date(2026, 11, 9)
    assert charts.week_label(monday) == "11-09"
    assert charts.week_label(monday, start=d.date(2026, 11, 11)) == "11-09*"
    assert charts.week_label(monday, end=d.date(2026, 11, 14)) == "11-09*"
    assert charts.week_label(monday, start=monday, end=d.date(2026, 11, 15)) == "11-09"
    # the title says what * means, only when a week on the axis is partial
    weeks = pd.DataFrame({"week": [d.date(2026, 11, 2), monday], "satisfied": [5, 6], "rated": [8, 9]})
    cut = charts.share_over_time(weeks, "CSAT", 5, "en", start=d.date(2026, 11, 4), end=d.date(2026, 11, 15))
    assert list(cut.data[1].x) == ["11-02*", "11-09"] and cut.layout.title.text == "CSAT (* partial week)"
    whole = charts.share_over_time(weeks, "CSAT", 5, "zh", start=d.date(2026, 11, 2), end=d.date(2026, 11, 15))
    assert whole.layout.title.text == "CSAT"


def test_interactions_without_an_sla_verdict_are_named_not_hidden(app, sample_wh, tmp_path, monkeypatch):
    """'unknown' (no business time) is left out of the SLA rates like an open clock; the overview says how many."""
    db = tmp_path / "csqa.duckdb"
    shutil.copy(sample_wh, db)  # no snapshot beside it: the dashboard reads this file
    con = duckdb.connect(str(db))
    con.execute("""update marts.fct_interactions set first_response_sla_status = 'unknown'
                   where interaction_id in (select interaction_id from marts.fct_interactions
                                            where first_response_sla_status = 'met' and created_day >= '2026-11-10'
                                            order by interaction_id limit 7)""")
    recount_kpi_daily(con)  # the cards' counts follow the fact table, as a refresh would
    con.close()
    monkeypatch.setenv("CSQA_DB", str(db))
    at = app().run()
    assert not at.exception
    assert [w.value for w in at.warning if "no SLA verdict" in w.value] == [
        "7 interactions in view have no SLA verdict: their business time could not be computed (the calendar does "
        "not cover them). They are left out of both SLA rates; `csqa check` reports them, and the next load "
        "retries them."]
    monkeypatch.setenv("CSQA_DB", str(sample_wh))
    st.cache_data.clear()
    assert not [w for w in app().run().warning if "no SLA verdict" in w.value]


def test_panel_units_sit_in_panel_titles_and_the_goal_in_the_legend():
    """Narrow per-channel panels carry their unit in the title (an axis title ran into the neighbour), and the
    goal is named in the legend (a label on the line sat on the bars)."""
    q = pd.DataFrame({"channel": ["email", "web_chat"], "n": [10, 10], "p10": [3600.0, 20.0],
                      "p25": [7200.0, 40.0], "p50": [10_800.0, 60.0], "p75": [14_400.0, 90.0],
                      "p90": [36_000.0, 150.0]})
    targets = pd.DataFrame({"channel": ["email", "web_chat"], "first_response_target_seconds": [86_400.0, 180.0]})
    fig = charts.duration_boxes(q, targets, "First response", "first_response_target_seconds", "en")
    titles = [a.text for a in fig.layout.annotations]
    assert titles[:2] == ["Email<br><sub>h</sub>", "Web chat<br><sub>min</sub>"]
    assert not fig.layout.yaxis.title.text and not fig.layout.yaxis2.title.text
    zh = charts.duration_boxes(q, targets, "x", "first_response_target_seconds", "zh")
    assert [a.text for a in zh.layout.annotations][1] == "网页聊天<br><sub>分钟</sub>"
    pri = pd.DataFrame({"priority": ["urgent", "low"], "fr_met": [9, 5], "fr_breached": [1, 5],
                        "res_met": [8, 6], "res_breached": [2, 4]})
    bars = charts.sla_by_priority(pri, "SLA", "en", goal=0.9)
    assert "goal 90%" in [tr.name for tr in bars.data] and not bars.layout.annotations
    shares = pd.DataFrame({"value": ["email", "web_chat"], "satisfied": [8, 5], "rated": [10, 10]})
    by = charts.share_by(shares, "CSAT", 5, "en", goal=0.8)
    assert [tr.name for tr in by.data] == ["satisfied share", "goal 80%"]  # no unnamed "trace 0" in the legend


def test_the_sla_colour_scale_turns_at_the_goal():
    df = data.pd.DataFrame({"week": data.pd.to_datetime(["2026-11-09"] * 2), "channel": ["email", "phone"],
                            "met": [84, 95], "breached": [16, 5]})
    heat = charts.sla_heatmap(df, "x", goal=0.9).data[0]
    assert heat.zmid == 90 and heat.zmin == 80 and heat.zmax == 100  # 84% sits on the red side


def test_every_label_has_both_languages_and_every_key_used_exists():
    import re
    for key, pair in LABELS.items():
        assert len(pair) == 2 and all(pair), key
    for key, pair in VALUES.items():
        assert len(pair) == 2 and all(pair), key
    used = set()
    for path in (ROOT / "dashboard").rglob("*.py"):
        used |= set(re.findall(r'\bt\("([a-z_0-9]+)"', path.read_text()))
    assert used and used <= set(LABELS), sorted(used - set(LABELS))
    assert t("unit_min", "zh") == "分钟"


@pytest.mark.parametrize("page", ALL_PAGES)
def test_every_page_renders_in_chinese(app, sample_wh, page):
    """Dynamic keys (table headers, units, definitions) are looked up as the page renders: a missing one fails."""
    cid = count(sample_wh, "select min(interaction_id) from marts.fct_interactions")
    at = app()
    at.query_params["lang"] = "zh"
    at.run()
    at.switch_page(page)
    at.query_params.update({"lang": "zh", "id": cid})
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == t(page.split("/")[1][:-3], "zh")
    english = {pair[0] for pair in LABELS.values() if len(pair[0]) > 3 and "{" not in pair[0]}
    shown = [m.label for m in at.metric] + [c.value for c in at.caption] + [i.value for i in at.info]
    for text in shown:
        assert text not in english, text


def test_the_csv_holds_every_row_of_the_view(app, sample_wh):
    assert app  # points CSQA_DB at the warehouse
    f = data.Filters(data.dt.date(2026, 9, 1), data.dt.date(2026, 11, 30), {"channel": ("email", "web_chat")})
    chunks = list(data.conversations_csv(f, {}, chunk=500))
    assert len(chunks) > 1  # built in chunks, no cap
    import csv
    import io
    rows = list(csv.reader(io.StringIO("".join(chunks))))
    expected = count(sample_wh, "select count(*) from marts.fct_interactions where channel in ('email', 'web_chat') "
                                "and created_day between date '2026-09-01' and date '2026-11-30'")
    assert len({r[0] for r in rows[1:]}) == expected and rows[0][0] == "interaction_id"
    assert common  # the module every page shares imports cleanly


def test_faq_coverage_caption_accounts_for_every_contact_of_the_window(app, sample_wh):
    """The coverage matrix counts contacts with a topic; the caption also names those without one, so the two
    add up to the fact table's count for the same window (the overview's figure), not 13 short of it."""
    at = app()
    at.switch_page("views/faq_gaps.py")
    at.run()
    assert not at.exception, at.exception
    cov = figure(at, 0)
    shown = numbers(cov["data"][0]["customdata"]).sum()
    window = ("from marts.fct_interactions as f cross join staging.settings as s "
              "where f.created_at > s.as_of_at - to_days(s.faq_window_days)")
    total = count(sample_wh, f"select count(*) {window}")
    none = count(sample_wh, f"select count(*) {window} and f.topic is null")
    assert none > 0 and shown == total - none  # the sample's emerging topic is untagged
    caption = next(c.value for c in at.caption if "contacts with a topic" in c.value)
    assert f"{int(shown):,} contacts with a topic" in caption and f"{none:,} more had none" in caption


def test_topics_read_in_chinese_on_the_faq_page(app, sample_wh):
    at = app()
    at.query_params["lang"] = "zh"
    at.run()
    at.switch_page("views/faq_gaps.py")
    at.query_params["lang"] = "zh"
    at.run()
    assert not at.exception, at.exception
    rows = figure(at, 0)["data"][0]["y"]
    assert "身份认证" in rows and "提现" in rows and "kyc" not in rows
    # one row per topic, none merged by the labels
    assert len(set(rows)) == len(rows) == count(sample_wh, "select count(distinct topic) from marts.faq_coverage")


def test_conversations_show_a_dash_for_no_agent_team_or_article(app, sample_wh):
    """A bot's or unassigned conversation shows "–" like a missing duration, not Streamlit's grey "None"."""
    at = app()
    at.switch_page("views/conversations.py")
    at.run()
    assert not at.exception, at.exception
    shown = at.dataframe[0].value
    for col in ("agent_id", "team", "faq_article_id"):
        assert shown[col].notna().all(), col
    assert (shown.agent_id == "–").sum() > 0  # the sample has unassigned and bot-handled conversations
    with duckdb.connect(str(sample_wh), read_only=True) as con:
        agents = {a for (a,) in con.execute("select distinct agent_id from marts.fct_interactions").fetchall()}
    assert set(shown.agent_id[shown.agent_id != "–"]) <= agents


def recount_kpi_daily(con) -> None:
    """Rebuild marts.kpi_daily from the fact table of a test's changed copy (every day, with the mart's own SQL)."""
    from csqa.pipeline.model import marts

    sql = next(s for name, _, _, s in marts.mart_models() if name == "kpi_daily")
    con.execute("create or replace table staging.refresh_days as "
                "select distinct created_day as day from marts.fct_interactions")
    con.execute(f"create or replace table marts.kpi_daily as {sql}")


def test_teams_show_by_their_configured_names_in_each_language(app, sample_wh, tmp_path, monkeypatch):
    from csqa.dashboard import data
    from csqa.dashboard.i18n import value_label

    """config [teams]: the agents page, the sidebar's team filter and the conversations list name each team in the
    page's language; a code without a name shows as it is, and the URL keeps the code."""
    with duckdb.connect(str(sample_wh), read_only=True) as con:
        codes = sorted(c for (c,) in con.execute("select distinct team from marts.fct_interactions "
                                                 "where team is not null").fetchall())
    assert codes == ["cn_support", "global_support", "kyc_review", "vip_desk"]  # the defaults name all four
    names = {"en": {"Global support", "China support", "KYC review", "VIP desk"},
             "zh": {"全球客服", "中国区客服", "身份审核", "VIP 专席"}}
    for lang, expected in names.items():
        at = app()
        at.query_params.update({"lang": lang, "team": "kyc_review"})
        at.run()
        at.switch_page("views/agents.py").run()
        assert not at.exception, at.exception
        teams = at.dataframe[0].value
        assert set(teams.team) == {"身份审核" if lang == "zh" else "KYC review"}  # filtered by the code
        box = next(m for m in at.multiselect if m.key == "f_team")
        assert {box.format_func(o) for o in box.options} >= expected and box.value == ["kyc_review"]
        assert at.query_params["team"] == "kyc_review"
        at.switch_page("views/conversations.py").run()
        assert set(at.dataframe[0].value.team) == {"身份审核" if lang == "zh" else "KYC review"}
    # a csqa.toml renames one team (the others keep the defaults' names); without label_zh, Chinese shows its label
    cfg = tmp_path / "csqa.toml"
    cfg.write_text('[teams.kyc_review]\nlabel = "Identity checks"\n', encoding="utf-8")
    monkeypatch.setenv("CSQA_CONFIG", str(cfg))
    at = app()
    at.query_params["lang"] = "zh"
    at.run()
    at.switch_page("views/agents.py").run()
    assert {"Identity checks", "VIP 专席"} <= set(at.dataframe[0].value.team)
    # and a code no configuration names shows as it is
    assert value_label("team", "night_shift", "zh", data.team_labels("zh")) == "night_shift"
