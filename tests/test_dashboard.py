"""Every dashboard page under Streamlit's AppTest, against a real warehouse built from sample_data/."""

import base64
import json

import duckdb
import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from csqa.dashboard import charts
from csqa.pipeline.config import load_config
from csqa.pipeline.load import load
from tests.conftest import ROOT, SAMPLE

APP = str(ROOT / "dashboard" / "app.py")
PAGES = ["pages/response_times.py", "pages/satisfaction.py", "pages/faq_gaps.py", "pages/data_quality.py",
         "pages/conversations.py"]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    db = tmp_path_factory.mktemp("dash") / "csqa.duckdb"
    mp = pytest.MonkeyPatch()
    mp.setenv("CSQA_PSEUDONYM_KEY", "dash")
    load([SAMPLE], db, load_config(ROOT / "pipeline" / "default_config.toml"))
    mp.undo()
    return db


@pytest.fixture
def app(warehouse, monkeypatch):
    monkeypatch.setenv("CSQA_DB", str(warehouse))
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


def test_overview_cards_agree_with_the_charts(app, warehouse):
    at = app().run()
    assert not at.exception
    assert len(at.metric) == 6
    volume = int(metric(at, "Contacts").replace(",", ""))
    daily = figure(at, 0)
    assert sum(numbers(tr["y"]).sum() for tr in daily["data"]) == volume
    how = figure(at, 1)
    z = how["data"][0]["z"]
    assert (numbers(z).sum() if isinstance(z, dict) else np.asarray(z, dtype=float).sum()) == volume
    start, end = at.query_params["start"], at.query_params["end"]
    assert volume == count(warehouse, "select count(*) from marts.fct_interactions where created_day between ? and ?",
                           [start, end])
    # the default range ends at the newest data, not today
    assert end == str(count(warehouse, "select max(created_day) from marts.fct_interactions"))


def test_a_filter_moves_cards_and_charts_together(app, warehouse):
    at = app().run()
    at.sidebar.multiselect(key="f_channel").set_value(["email"]).run()
    assert not at.exception
    assert at.query_params["channel"] == "email"
    volume = int(metric(at, "Contacts").replace(",", ""))
    start, end = at.query_params["start"], at.query_params["end"]
    assert volume == count(warehouse, "select count(*) from marts.fct_interactions where channel = 'email' "
                                      "and created_day between ? and ?", [start, end])
    daily = figure(at, 0)
    assert [tr["name"] for tr in daily["data"]] == ["email"]
    assert numbers(daily["data"][0]["y"]).sum() == volume


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(app, page):
    at = app().run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert not at.error
    assert at.title and at.caption  # a title and the "last loaded" footer
    assert any("last loaded" in c.value for c in at.caption)
    if page != "pages/conversations.py":
        assert at.get("plotly_chart") or at.dataframe


def test_response_times_show_targets_and_switch_basis(app):
    at = app().run()
    at.switch_page("pages/response_times.py").run()
    box = figure(at, 0)
    assert any(tr.get("name") == "SLA target" for tr in box["data"])
    assert len(at.dataframe) == 1  # worst breaches


def test_satisfaction_card_matches_the_weekly_chart(app, warehouse):
    at = app().run()
    at.switch_page("pages/satisfaction.py").run()
    n = int(metric(at, "n").replace(",", ""))
    start, end = at.query_params["start"], at.query_params["end"]
    assert n == count(warehouse, "select count(csat_score) from marts.fct_interactions "
                                 "where created_day between ? and ?", [start, end])
    share = float(metric(at, "Satisfied (CSAT)").rstrip("%")) / 100
    sat = count(warehouse, "select count(*) from marts.fct_interactions where is_satisfied "
                           "and created_day between ? and ?", [start, end])
    assert share == pytest.approx(sat / n, abs=0.0005)


def test_conversations_follow_a_drill_down(app, warehouse):
    at = app()
    at.query_params.update({"start": "2026-11-10", "end": "2026-11-10", "drill_channel": "email",
                            "drill_day": "2026-11-10"})
    at.run()
    assert not at.exception
    at.switch_page("pages/conversations.py")
    at.query_params.update({"start": "2026-11-10", "end": "2026-11-10", "drill_channel": "email",
                            "drill_day": "2026-11-10"})
    at.run()
    assert not at.exception
    expected = count(warehouse, "select count(*) from marts.fct_interactions where channel = 'email' "
                                "and created_day = date '2026-11-10'")
    assert any(f"of {expected:,} interactions" in c.value for c in at.caption)
    assert len(at.dataframe[0].value) == expected


INJECTIONS = ["x' or '1'='1", "email'; drop table raw.interactions; --", "') union select * from audit.quarantine --"]


@pytest.mark.parametrize("evil", INJECTIONS)
def test_url_parameters_never_reach_sql_as_text(app, warehouse, evil):
    before = count(warehouse, "select count(*) from raw.interactions")
    at = app()
    at.query_params.update({"channel": evil, "topic": evil, "start": evil})
    at.run()
    assert not at.exception
    at.switch_page("pages/conversations.py")
    at.query_params.update({"drill_channel": evil, "drill_day": "2026-11-10"})
    at.run()
    assert not at.exception
    assert any("of 0 interactions" in c.value for c in at.caption)
    assert count(warehouse, "select count(*) from raw.interactions") == before


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
    at.switch_page("pages/conversations.py")
    at.query_params.update({"start": "2026-11-10", "end": "2026-11-16", **bad})
    at.run()
    assert not at.exception
    assert any("not valid" in w.value and next(iter(bad)) in w.value for w in at.warning)
    assert any("of 0 interactions" in c.value for c in at.caption)


def test_a_week_drill_opens_that_iso_week(app, warehouse):
    at = app()
    at.switch_page("pages/conversations.py")
    for week in ("2026-W46", "2026-11-12"):  # as an ISO week, or as any day of it: Monday 2026-11-09 to Sunday
        at.query_params.clear()
        at.query_params.update({"start": "2026-11-01", "end": "2026-11-24", "drill_week": week})
        at.run()
        assert not at.exception and not at.warning
        expected = count(warehouse, "select count(*) from marts.fct_interactions "
                                    "where created_day between date '2026-11-09' and date '2026-11-15'")
        assert any(f"of {expected:,} interactions" in c.value for c in at.caption), [c.value for c in at.caption]
