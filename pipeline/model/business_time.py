"""Business time: the open intervals of a schedule, in UTC, with cumulative open seconds.

For each schedule we list every open interval ``[open_at, close_at)`` in UTC over a date range,
merged where they touch, and the open seconds that came before each one (``cum_seconds``).
The business clock of an instant ``t`` is then

    clock(t) = cum_seconds + clamp(t - open_at, 0, close_at - open_at)

for the last interval with ``open_at <= t``, found in SQL with an ASOF join. Business time
between two instants is ``clock(b) - clock(a)``. This is exact across time zones, daylight-saving
changes (local wall-clock blocks are converted day by day with the zone's rules), holidays,
several blocks a day and blocks that cross midnight (a block belongs to the day it starts on,
so a holiday removes the blocks that *start* on it). A 24/7 schedule is one long interval, so its
business time equals calendar time.

Local times that do not exist (spring-forward) move forward to the first valid instant; local
times that happen twice (fall-back) take the first occurrence.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd

from ..config import DAY_NAMES, Schedule

UTC = dt.UTC


def _to_utc(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Wall-clock time in ``zone`` -> UTC, moving non-existent times forward, folds to the first."""
    ts = pd.Timestamp(local).tz_localize(zone, ambiguous=True, nonexistent="shift_forward")
    return ts.tz_convert("UTC").to_pydatetime()


def open_intervals(schedule: Schedule, start: dt.date, end: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """Merged UTC open intervals for blocks starting on local days start..end (inclusive)."""
    zone = ZoneInfo(schedule.timezone)
    holidays = schedule.holiday_ranges
    workdays = schedule.workday_ranges
    as_day = DAY_NAMES.index(schedule.workday_blocks)
    raw: list[tuple[dt.datetime, dt.datetime]] = []
    day = start
    while day <= end:
        if not any(a <= day <= b for a, b in holidays):
            # a make-up working day (调休) opens with the blocks of `workday_blocks`, whatever its weekday
            weekday = as_day if any(a <= day <= b for a, b in workdays) else day.weekday()
            for block in schedule.blocks:
                if weekday not in block.day_indexes:
                    continue
                s_min, e_min = block.start_minute, block.end_minute
                local_start = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=s_min)
                end_day = day if e_min > s_min else day + dt.timedelta(days=1)
                local_end = dt.datetime.combine(end_day, dt.time()) + dt.timedelta(minutes=e_min)
                a, b = _to_utc(local_start, zone), _to_utc(local_end, zone)
                if b > a:
                    raw.append((a, b))
        day += dt.timedelta(days=1)
    raw.sort()
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for a, b in raw:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


# the first row of every schedule: a zero-length interval long before any data, so an instant that
# falls before the schedule's first open interval (a first load that starts inside Spring Festival)
# reads clock 0 instead of finding no interval at all (NULL business time)
SENTINEL = dt.datetime(1970, 1, 1, tzinfo=UTC)


def calendar_frame(schedules: dict[str, Schedule], start: dt.date, end: dt.date) -> pd.DataFrame:
    """One row per schedule and open interval: schedule, open_at, close_at, seconds, cum_seconds.

    Each schedule starts with a zero-length row at 1970-01-01 (``SENTINEL``): the clock of any
    instant from ``start`` on is then defined, including instants before the first open interval."""
    rows = []
    for name, sched in schedules.items():
        rows.append((name, SENTINEL, SENTINEL, 0.0, 0.0))
        cum = 0.0
        for a, b in open_intervals(sched, start, end):
            secs = (b - a).total_seconds()
            rows.append((name, a, b, secs, cum))
            cum += secs
    df = pd.DataFrame(rows, columns=["schedule", "open_at", "close_at", "seconds", "cum_seconds"])
    for col in ("open_at", "close_at"):
        df[col] = pd.to_datetime(df[col], utc=True).astype("datetime64[us, UTC]")
    return df


def business_seconds(schedule: Schedule, a: dt.datetime, b: dt.datetime) -> float:
    """Reference implementation in Python (the marts do the same in SQL): open seconds in [a, b)."""
    if b <= a:
        return 0.0
    total = 0.0
    for s, e in open_intervals(schedule, (a - dt.timedelta(days=2)).date(), (b + dt.timedelta(days=2)).date()):
        lo, hi = max(s, a), min(e, b)
        if hi > lo:
            total += (hi - lo).total_seconds()
    return total
