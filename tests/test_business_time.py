"""Business time on hand-computed cases, in Python and in the SQL the marts use."""

import datetime as dt

import duckdb
import pytest

from csqa.pipeline.config import Block, Schedule
from csqa.pipeline.model.business_time import business_seconds, calendar_frame

H = 3600.0


def utc(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s).astimezone(dt.UTC)


OFFICE = Schedule(
    timezone="Asia/Shanghai",
    blocks=[Block(days="mon-fri", start="09:00", end="12:00"), Block(days="mon-fri", start="13:00", end="18:00")],
)
BERLIN_24 = Schedule(timezone="Europe/Berlin", blocks=[Block(days="mon-sun", start="00:00", end="24:00")])
BERLIN_NIGHT = Schedule(timezone="Europe/Berlin", blocks=[Block(days="mon-sun", start="22:00", end="06:00")])
NY_OFFICE = Schedule(timezone="America/New_York", blocks=[Block(days="mon-sun", start="00:00", end="04:00")])
HOLIDAY = Schedule(timezone="Asia/Shanghai", blocks=OFFICE.blocks, holidays=["2026-11-04"])
# 2026 Spring Festival: closed Sun 02-15 .. Mon 02-23, Saturday 02-14 and 02-28 are make-up working days
SPRING = Schedule(timezone="Asia/Shanghai", blocks=OFFICE.blocks, holidays=["2026-02-15..2026-02-23"],
                  workdays=["2026-02-14", "2026-02-28"])

CASES = [
    # schedule, start, end, expected seconds, why
    (OFFICE, "2026-11-02T09:00:00+08:00", "2026-11-06T18:00:00+08:00", 40 * H, "Mon 09:00 -> Fri 18:00, lunch off"),
    (OFFICE, "2026-11-02T11:30:00+08:00", "2026-11-02T13:30:00+08:00", 1 * H, "across lunch: 30 + 30 min"),
    (OFFICE, "2026-11-06T17:00:00+08:00", "2026-11-09T10:00:00+08:00", 2 * H, "Fri 17:00 -> Mon 10:00 skips weekend"),
    (OFFICE, "2026-11-07T10:00:00+08:00", "2026-11-08T10:00:00+08:00", 0.0, "all weekend"),
    (OFFICE, "2026-11-02T01:00:00Z", "2026-11-02T02:00:00Z", 1 * H, "given in UTC: 09:00-10:00 Shanghai"),
    (HOLIDAY, "2026-11-03T09:00:00+08:00", "2026-11-05T18:00:00+08:00", 16 * H, "Wednesday holiday in the middle"),
    # Europe/Berlin springs forward 2026-03-29 02:00 -> 03:00 and falls back 2026-10-25 03:00 -> 02:00
    (BERLIN_24, "2026-03-28T12:00:00+01:00", "2026-03-29T12:00:00+02:00", 23 * H, "spring-forward: 23 h"),
    (BERLIN_24, "2026-10-24T12:00:00+02:00", "2026-10-25T12:00:00+01:00", 25 * H, "fall-back: 25 h"),
    (BERLIN_NIGHT, "2026-03-28T21:00:00+01:00", "2026-03-29T07:00:00+02:00", 7 * H, "22:00-06:00 on the short night"),
    (BERLIN_NIGHT, "2026-10-24T21:00:00+02:00", "2026-10-25T07:00:00+01:00", 9 * H, "22:00-06:00 on the long night"),
    (BERLIN_NIGHT, "2026-11-02T05:00:00+01:00", "2026-11-02T23:00:00+01:00", 2 * H, "overnight block: 05-06 + 22-23"),
    (NY_OFFICE, "2026-03-08T00:00:00-05:00", "2026-03-08T05:00:00-04:00", 3 * H, "00:00-04:00 loses the 02:00 hour"),
    (SPRING, "2026-02-13T17:00:00+08:00", "2026-02-24T10:00:00+08:00", 10 * H, "Fri 1 h + make-up Sat 8 h + Tue 1 h"),
    (SPRING, "2026-02-27T17:00:00+08:00", "2026-03-02T10:00:00+08:00", 10 * H, "make-up Saturday 02-28 works"),
    (SPRING, "2026-02-16T10:00:00+08:00", "2026-02-24T10:00:00+08:00", 1 * H, "asked inside the closure"),
]


def test_make_up_day_overlapping_a_holiday_is_refused():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="both"):
        Schedule(timezone="UTC", blocks=OFFICE.blocks, holidays=["2026-02-14..2026-02-16"], workdays=["2026-02-14"])


def test_first_instant_inside_a_closure_at_the_calendar_start_has_a_clock():
    """A calendar that starts inside Spring Festival (the first load's data starts there): an instant
    before the first open interval reads clock 0, never NULL."""
    cal = calendar_frame({"s": SPRING}, dt.date(2026, 2, 16), dt.date(2026, 3, 31))
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    con.register("cal", cal)
    got = con.execute(
        """select (cb.cum_seconds + least(greatest(epoch(p.b) - epoch(cb.open_at), 0), cb.seconds))
                - (ca.cum_seconds + least(greatest(epoch(p.a) - epoch(ca.open_at), 0), ca.seconds))
           from (select 's' as schedule, '2026-02-16T10:00:00+08:00'::timestamptz as a,
                        '2026-02-24T10:00:00+08:00'::timestamptz as b) as p
           asof left join cal ca on ca.schedule = p.schedule and p.a >= ca.open_at
           asof left join cal cb on cb.schedule = p.schedule and p.b >= cb.open_at"""
    ).fetchone()[0]
    assert got == 1 * H


def test_default_config_carries_the_2026_mainland_china_arrangement():
    """Every 2026 day of the shipped support_hours schedule is open exactly when the `chinese-calendar`
    package says it is a working day (its holidays and make-up working days, 调休)."""
    chinese_calendar = pytest.importorskip("chinese_calendar")
    from csqa.pipeline.config import load_config

    sched = load_config().schedules["support_hours"]
    day = dt.date(2026, 1, 1)
    wrong = []
    while day <= dt.date(2026, 12, 31):
        start = dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone(dt.timedelta(hours=8)))
        is_open = business_seconds(sched, start, start + dt.timedelta(days=1)) > 0
        if is_open != chinese_calendar.is_workday(day):
            wrong.append(day)
        day += dt.timedelta(days=1)
    assert wrong == []


@pytest.mark.parametrize(("sched", "a", "b", "expected", "why"), CASES, ids=[c[4] for c in CASES])
def test_reference_cases_in_python(sched, a, b, expected, why):
    assert business_seconds(sched, utc(a), utc(b)) == expected


def sql_business_seconds(sched: Schedule, a: str, b: str) -> float:
    cal = calendar_frame({"s": sched}, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    con.register("cal", cal)
    con.execute("create table points as select 's' as schedule, ?::timestamptz as a, ?::timestamptz as b", [a, b])
    # the same expression as sql/staging (staging.business_calendar + asof join)
    return con.execute(
        """select (cb.cum_seconds + least(greatest(epoch(p.b) - epoch(cb.open_at), 0), cb.seconds))
                - (ca.cum_seconds + least(greatest(epoch(p.a) - epoch(ca.open_at), 0), ca.seconds))
           from points p
           asof left join cal ca on ca.schedule = p.schedule and p.a >= ca.open_at
           asof left join cal cb on cb.schedule = p.schedule and p.b >= cb.open_at"""
    ).fetchone()[0]


@pytest.mark.parametrize(("sched", "a", "b", "expected", "why"), CASES, ids=[c[4] for c in CASES])
def test_reference_cases_in_sql(sched, a, b, expected, why):
    assert sql_business_seconds(sched, a, b) == pytest.approx(expected, abs=1e-6)


def test_always_open_equals_calendar_time():
    always = Schedule(timezone="UTC", blocks=[Block(days="mon-sun", start="00:00", end="24:00")])
    cal = calendar_frame({"a": always}, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert len(cal[cal.seconds > 0]) == 1  # merged into one interval (after the zero-length 1970 sentinel)
    a, b = utc("2026-02-03T04:05:06Z"), utc("2026-09-10T11:12:13Z")
    assert business_seconds(always, a, b) == (b - a).total_seconds()
    assert sql_business_seconds(always, a.isoformat(), b.isoformat()) == (b - a).total_seconds()
