"""Dashboard benchmark: each data-access query and each page's server-side render, caches cleared.

    python benchmarks/bench_dashboard.py --db /tmp/csqa-bench/wh-big/csqa.duckdb [--repeat 5] [--queries-only]

Every query of dashboard/data.py the pages run, on the default view (the last 28 days, no filter) and a few
on one channel. The minimum is printed beside the median: on a shared machine it is the better estimate of a
query's own cost. Streamlit's result cache is cleared before every call; the read-only session of the published
snapshot that dashboard/data.py keeps for the process is not (a dashboard keeps it too): its opening is in the
first query, printed on its own.

The conversation page looks its conversation up within the view's days (the link carries them); a link typed
by hand with an id alone, or with days that do not hold it, within the day marts.interaction_lookup gives (where
the warehouse has that table; else in the whole table): printed too, as "id alone" and "other days". A
conversation's messages and surveys are read within the send times its fact row keeps; by id alone only where it
keeps none (a lake, a snapshot published before them): printed as "by id alone".

Goals: every query <= 100 ms, every page <= 1 s (server side: the script run that builds the page,
measured with Streamlit's AppTest; the browser's drawing is not included).
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.filterwarnings("ignore")


def _conversation(data, iid: str, near: tuple):
    """As the conversation page looks it up: near the view's days (an older data.py, --data-from, by id alone)."""
    if "near" in inspect.signature(data.conversation).parameters:
        return data.conversation(iid, near)
    return data.conversation(iid)


def _events(data, kind: str, iid: str, row):
    """A conversation's messages or surveys as the page reads them: within the send times its fact row holds (an
    older data.py, --data-from: by id alone)."""
    read = data.conversation_messages if kind == "message" else data.conversation_surveys
    if hasattr(data, "event_bounds"):
        return read(iid, data.event_bounds(row, kind))
    return read(iid)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--queries-only", action="store_true", help="skip the page renders")
    ap.add_argument("--data-from", type=Path, help="time this copy of dashboard/data.py instead (e.g. an earlier "
                    "commit's: git show <commit>:dashboard/data.py > /tmp/data_before.py); queries only")
    args = ap.parse_args()
    os.environ["CSQA_DB"] = args.db
    os.environ["STREAMLIT_LOGGER_LEVEL"] = "error"
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from benchmarks.common import ROOT, machine
    from csqa.dashboard import data

    if args.data_from:  # an earlier version of the query layer, against the same warehouse
        import importlib.util

        spec = importlib.util.spec_from_file_location("data_under_test", args.data_from)
        data = importlib.util.module_from_spec(spec)
        sys.modules["data_under_test"] = data  # dataclasses look their module up
        spec.loader.exec_module(data)
        print(f"query layer: {args.data_from}")
        args.queries_only = True

    t0 = time.perf_counter()  # the first query opens the newest snapshot's session, which later queries reuse
    lo, hi = data.data_bounds()
    first_ms = 1000 * (time.perf_counter() - t0)
    f = data.Filters(max(lo, hi - dt.timedelta(days=27)), hi, {})
    n = data.query("select count(*) as n from marts.fct_interactions").n.iloc[0]
    one = data.conversations(f, {}, 1)[0].interaction_id.iloc[0]  # the view's newest
    early = data.query("select min(interaction_id) as i from marts.fct_interactions where created_day = ?",
                       [f.start]).i.iloc[0]
    # the events' look-ups: a conversation of the view's first day with messages and a survey (any, without them);
    # not the newest: a nightly batch's events are the newest rows, whose ids the zone maps may single out anyway
    talk = data.query("""select coalesce(min_by(interaction_id, created_at) filter (
                                             where count_messages > 0 and count_surveys_sent > 0), min(interaction_id))
                         as i from marts.fct_interactions where created_day = ?""", [f.start]).i.iloc[0]
    talk_row = _conversation(data, talk, (f.start, f.end)).iloc[0]
    f1 = data.Filters(f.start, f.end, {"channel": (data.filter_options()["channel"][0],)})
    queries = {
        "filter_options": lambda: data.filter_options(),
        "kpis (2 queries)": lambda: data.kpis(f),
        "kpis, previous period": lambda: data.kpis(f.previous()),
        "daily_volume": lambda: data.daily_volume(f),
        "hour_of_week": lambda: data.hour_of_week(f),
        "duration_quantiles first response": lambda: data.duration_quantiles(f, "first_response", "business"),
        "duration_quantiles resolution": lambda: data.duration_quantiles(f, "resolution", "business"),
        "weekly_quantiles": lambda: data.weekly_quantiles(f, "business"),
        "sla_weekly": lambda: data.sla_weekly(f),
        "worst_breaches": lambda: data.worst_breaches(f),
        "csat_weekly": lambda: data.csat_weekly(f),
        "csat_by channel": lambda: data.csat_by(f, "channel"),
        "low_comments": lambda: data.low_comments(f),
        "faq_gaps": lambda: data.faq_gaps(),
        "faq_coverage": lambda: data.faq_coverage(),
        "faq_clusters": lambda: data.faq_clusters(),
        "faq_deflection": lambda: data.faq_deflection(),
        "recent_loads": lambda: data.recent_loads(),
        "quarantine_by_check": lambda: data.quarantine_by_check(),
        "conversations (1,000 rows)": lambda: data.conversations(f, {}, 1000),
        # the rest of dashboard/data.py's queries (not measured before 2026-11-26)
        "has_marts": lambda: data.has_marts(),
        "data_bounds": lambda: data.data_bounds(),
        "last_load (2 queries)": lambda: data.last_load(),
        "channel_summary": lambda: data.channel_summary(f),
        "backlog_trend": lambda: data.backlog_trend(f),
        "sla_by_priority": lambda: data.sla_by_priority(f),
        "next_reply": lambda: data.next_reply(f, "business"),
        "sla_targets": lambda: data.sla_targets(),
        "channel_labels": lambda: data.channel_labels(),
        "min_sample": lambda: data.min_sample(),
        "faq_window_days": lambda: data.faq_window_days(),
        "faq_window_untopiced": lambda: data.faq_window_untopiced(),
        "agents": lambda: data.agents(f),
        "teams": lambda: data.teams(f),
        "conversation (one)": lambda: _conversation(data, one, (f.start, f.end)),
        "conversation (the view's first day)": lambda: _conversation(data, early, (f.start, f.end)),
        "conversation (id alone: a typed link)": lambda: data.conversation(early),
        "conversation (a link with other days)": lambda: _conversation(data, early, (lo - dt.timedelta(days=60),
                                                                                     lo - dt.timedelta(days=30))),
        "conversation_messages, as the page reads them": lambda: _events(data, "message", talk, talk_row),
        "conversation_surveys, as the page reads them": lambda: _events(data, "survey", talk, talk_row),
        "conversation_messages by id alone": lambda: data.conversation_messages(talk),
        "conversation_surveys by id alone": lambda: data.conversation_surveys(talk),
        "kpis, one channel": lambda: data.kpis(f1),
        "duration_quantiles, one channel": lambda: data.duration_quantiles(f1, "first_response", "business"),
        "conversations, one channel": lambda: data.conversations(f1, {}, 1000),
    }
    print(f"machine: {machine()}; warehouse: {args.db} ({n:,} interactions); range {f.start} .. {f.end}")
    stored = data.query("select (select count(*) from raw.messages) as m, (select count(*) from raw.csat_surveys) as s")
    print(f"stored messages {stored.m.iloc[0]:,}, surveys {stored.s.iloc[0]:,}; the events' look-ups read {talk}'s")
    print(f"first query of the process (data_bounds, opening the snapshot's kept session): {first_ms:.0f} ms")
    print(f"\n{'query':<48}{'median ms':>10}{'min ms':>10}{'max ms':>10}")
    for name, fn in queries.items():
        times = []
        for _ in range(args.repeat):
            st.cache_data.clear()
            t = time.perf_counter()
            fn()
            times.append(1000 * (time.perf_counter() - t))
        flag = "" if statistics.median(times) <= 100 else "  > 100 ms"
        print(f"{name:<48}{statistics.median(times):10.0f}{min(times):10.0f}{max(times):10.0f}{flag}")
    if args.queries_only:
        return
    pages = ["views/overview.py", "views/response_times.py", "views/satisfaction.py", "views/agents.py",
             "views/faq_gaps.py",
             "views/data_quality.py", "views/conversations.py"]
    print(f"\n{'page (server side, cold cache)':<36}{'median s':>10}{'max s':>10}")
    for page in pages:
        times = []
        for _ in range(args.repeat):
            st.cache_data.clear()
            at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120)
            if page != "views/overview.py":
                at.run()
                st.cache_data.clear()
                at.switch_page(page)
            t = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - t)
            assert not at.exception, at.exception
        flag = "" if statistics.median(times) <= 1 else "  > 1 s"
        print(f"{page:<36}{statistics.median(times):10.2f}{max(times):10.2f}{flag}")


if __name__ == "__main__":
    main()
