"""The business calendar covers every timestamp the marts read, whatever the first load holds; a NULL
business time is 'unknown', never 'breached'; the data tests in sql/tests can fail."""

import datetime as dt

import duckdb
import pytest

from csqa.pipeline.config import load_config
from csqa.pipeline.ingest.load import load
from csqa.pipeline.model import marts
from csqa.pipeline.model.business_time import business_seconds
from csqa.pipeline.model.checks import run_checks
from csqa.pipeline.model.warehouse import open_warehouse
from tests.conftest import INTERACTION_HEADER, interaction_row, query, write

# office hours in Shanghai with the 2026 Spring Festival closure (02-15..02-23) and its make-up Saturdays
CONFIG = """
[schedules.always]
timezone = "UTC"
blocks = [{ days = "mon-sun", start = "00:00", end = "24:00" }]
[schedules.office]
timezone = "Asia/Shanghai"
blocks = [{ days = "mon-fri", start = "09:00", end = "12:00" }, { days = "mon-fri", start = "13:00", end = "18:00" }]
holidays = ["2026-02-15..2026-02-23"]
workdays = ["2026-02-14", "2026-02-28"]
[channels.ticket]
label = "Ticket"
schedule = "office"
first_response_minutes = 120
resolution_hours = 16
"""
MSG_HEAD = "message_id,interaction_id,sender_role,sent_at,is_public,text\n"


@pytest.fixture
def cfg(tmp_path):
    return load_config(write(tmp_path / "csqa.toml", CONFIG))


def _ts(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s).astimezone(dt.UTC)


def fact(db, iid, *cols):
    return query(db, f"select {', '.join(cols)} from marts.fct_interactions where interaction_id = ?", [iid])[0]


def test_a_first_load_inside_spring_festival_gets_the_right_business_time(tmp_path, db, cfg):
    # created Monday 02-23, the closure's ninth day: the calendar (from a week before the first timestamp)
    # starts inside the closure. Answered Tuesday 02-24 10:00: one business hour (09:00-10:00)
    row = interaction_row("SF", channel="ticket", created="2026-02-23T10:00:00+08:00",
                          first="2026-02-24T10:00:00+08:00", resolved="2026-02-24T17:00:00+08:00")
    load([write(tmp_path / "in" / "interactions.csv", INTERACTION_HEADER + "\n" + row + "\n")], db, cfg)
    got = fact(db, "SF", "first_response_business_seconds", "first_response_sla_status",
               "resolution_business_seconds", "resolution_sla_status")
    assert got == (3600.0, "met", 7 * 3600.0, "met")  # 09-12 + 13-17 on 02-24
    sched = cfg.schedules["office"]
    assert got[0] == business_seconds(sched, _ts("2026-02-23T10:00:00+08:00"), _ts("2026-02-24T10:00:00+08:00"))


def test_a_make_up_saturday_is_a_working_day(tmp_path, db, cfg):
    row = interaction_row("SAT", channel="ticket", created="2026-02-13T17:00:00+08:00",
                          first="2026-02-14T10:00:00+08:00", resolved="2026-02-14T11:00:00+08:00")
    load([write(tmp_path / "in" / "interactions.csv", INTERACTION_HEADER + "\n" + row + "\n")], db, cfg)
    assert fact(db, "SAT", "first_response_business_seconds", "resolution_business_seconds") == (7200.0, 10800.0)


def test_a_reply_in_the_messages_file_beyond_the_interactions_range_is_timed(tmp_path, db, cfg):
    # the interaction's own timestamps end 02-25; its reply comes 100 days later, in the messages file only
    row = interaction_row("LATE", channel="ticket", created="2026-02-25T10:00:00+08:00", first="", resolved="",
                          status="open", updated="2026-02-25T10:00:00+08:00")
    write(tmp_path / "in" / "interactions.csv", INTERACTION_HEADER + "\n" + row + "\n")
    write(tmp_path / "in" / "messages.csv", MSG_HEAD + "m1,LATE,customer,2026-02-25T10:00:00+08:00,true,hi\n"
          "m2,LATE,agent,2026-06-05T11:00:00+08:00,true,sorry\n")
    load([tmp_path / "in"], db, cfg)
    sched = cfg.schedules["office"]
    expected = business_seconds(sched, _ts("2026-02-25T10:00:00+08:00"), _ts("2026-06-05T11:00:00+08:00"))
    assert fact(db, "LATE", "first_response_business_seconds") == (expected,)
    last_day = query(db, "select last_day from staging.business_calendar_range")[0][0]
    assert last_day >= dt.date(2026, 6, 5)


def test_a_later_load_with_earlier_data_extends_the_calendar(tmp_path, db, cfg):
    later = interaction_row("B", channel="ticket", created="2026-03-02T10:00:00+08:00",
                            first="2026-03-02T11:00:00+08:00", resolved="2026-03-02T12:00:00+08:00")
    load([write(tmp_path / "a" / "interactions.csv", INTERACTION_HEADER + "\n" + later + "\n")], db, cfg)
    earlier = interaction_row("A", channel="ticket", created="2026-01-05T17:30:00+08:00",
                              first="2026-01-06T09:30:00+08:00", resolved="2026-01-06T10:00:00+08:00")
    load([write(tmp_path / "b" / "interactions.csv", INTERACTION_HEADER + "\n" + earlier + "\n")], db, cfg)
    assert query(db, "select first_day from staging.business_calendar_range")[0][0] <= dt.date(2026, 1, 4)
    assert fact(db, "A", "first_response_business_seconds", "resolution_business_seconds") == (3600.0, 5400.0)
    assert fact(db, "B", "first_response_business_seconds") == (3600.0,)


def test_null_business_time_is_unknown_not_breached_and_a_later_refresh_repairs_it(tmp_path, db, cfg):
    rows = [interaction_row("K", channel="ticket", created="2026-03-02T10:00:00+08:00",
                            first="2026-03-02T11:00:00+08:00", resolved="2026-03-02T12:00:00+08:00")]
    s = load([write(tmp_path / "a" / "interactions.csv", INTERACTION_HEADER + "\n" + "\n".join(rows) + "\n")],
             db, cfg)
    # a calendar that lost the schedule (what a calendar not covering the data used to mean)
    con = open_warehouse(db)
    con.execute("delete from staging.business_calendar where schedule = 'office'")
    marts.refresh(con, cfg, batch_id=s.batch_id)
    con.close()
    assert fact(db, "K", "first_response_sla_status", "resolution_sla_status",
                "first_response_business_seconds") == ("unknown", "unknown", None)
    assert {r["test"] for r in run_checks(db) if r["failing_rows"]} == {
        "durations_business_not_above_calendar", "durations_present_where_inputs_exist"}
    # the rollup counts it apart: neither met, breached nor open
    assert query(db, """select count_first_response_unknown, count_resolution_unknown, count_first_response_met
                                + count_first_response_breached + count_first_response_open, count_resolution_met
                                + count_resolution_breached + count_resolution_open
                        from marts.sla_compliance""") == [(1, 1, 0, 0)]
    # the next load (another interaction) rebuilds the calendar and retries the unknown rows
    con = open_warehouse(db)
    con.execute("drop table staging.business_calendar_range")
    con.close()
    other = interaction_row("L", channel="ticket", created="2026-03-03T10:00:00+08:00",
                            first="2026-03-03T10:30:00+08:00", resolved="2026-03-03T12:00:00+08:00")
    s = load([write(tmp_path / "b" / "interactions.csv", INTERACTION_HEADER + "\n" + other + "\n")], db, cfg)
    assert not s.marts["full"]
    assert fact(db, "K", "first_response_sla_status", "first_response_business_seconds") == ("met", 3600.0)
    assert all(r["failing_rows"] == 0 for r in run_checks(db))


BAD = [
    # (what is broken, the update that breaks it, the data test that must fail)
    ("business time NULL beside a calendar time (a > comparison with NULL passes)",
     "update marts.fct_interactions set first_response_business_seconds = null where interaction_id = 'G'",
     "durations_business_not_above_calendar"),
    ("a first-response duration missing although both instants exist",
     "update marts.fct_interactions set first_response_seconds = null, first_response_business_seconds = null "
     "where interaction_id = 'G'",
     "durations_present_where_inputs_exist"),
    ("a resolution duration missing on a resolved interaction",
     "update marts.fct_interactions set resolution_seconds = null, resolution_business_seconds = null "
     "where interaction_id = 'G'",
     "durations_present_where_inputs_exist"),
    ("resolved before the first response",
     "update marts.fct_interactions set resolved_at = first_response_at - interval 1 minute "
     "where interaction_id = 'G'",
     "resolved_not_before_first_response"),
    ("an SLA verdict computed from a NULL business time",
     "update marts.fct_interactions set resolution_business_seconds = null, resolution_seconds = null, "
     "resolution_sla_status = 'breached' where interaction_id = 'G'",
     "sla_status_not_from_null"),
    ("an SLA status outside the documented values",
     "update marts.fct_interactions set first_response_sla_status = 'late' where interaction_id = 'G'",
     "sla_status_known"),
]


@pytest.fixture
def good_warehouse(tmp_path, cfg):
    db = tmp_path / "good.duckdb"
    row = interaction_row("G", channel="ticket", created="2026-03-02T10:00:00+08:00",
                          first="2026-03-02T11:00:00+08:00", resolved="2026-03-02T12:00:00+08:00")
    load([write(tmp_path / "g" / "interactions.csv", INTERACTION_HEADER + "\n" + row + "\n")], db, cfg)
    assert all(r["failing_rows"] == 0 for r in run_checks(db))
    return db


@pytest.mark.parametrize(("why", "update", "test"), BAD, ids=[b[2] + ": " + b[0] for b in BAD])
def test_each_data_test_fails_on_a_hand_made_bad_warehouse(good_warehouse, why, update, test):
    con = duckdb.connect(str(good_warehouse))
    con.execute(update)
    con.close()
    failing = {r["test"] for r in run_checks(good_warehouse) if r["failing_rows"]}
    assert test in failing, (why, failing)
