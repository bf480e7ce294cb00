"""Response times: distributions against the SLA target, p50/p90 trends, SLA by week and by priority,
next-reply time, and the breaches ranked by overrun relative to their target."""

import pandas as pd
import streamlit as st

from csqa.dashboard import charts, data
from csqa.dashboard.common import (
    customdata,
    definition,
    drill_on_select,
    empty_state,
    footer,
    open_conversation_on_select,
    page_start,
    rows_caption,
    url_choice,
)
from csqa.dashboard.i18n import t, value_label
from csqa.dashboard.theme import human_duration, pct

L, f = page_start("response_times")
labels = data.channel_labels()
teams = data.team_labels(L)
goals = data.goals()
basis = url_choice(t("basis", L), ["business", "calendar"], "rt_basis", "basis", lambda b: t(b, L))
st.caption(t("basis_note_business" if basis == "business" else "basis_note_calendar", L))
targets = data.sla_targets()
shown_targets = targets if basis == "business" else None  # targets are business time: never drawn on calendar

q = data.duration_quantiles(f, "first_response", basis)
if q.empty:
    empty_state(L)
    footer(L)
    st.stop()
frt_col = "first_response_business_seconds" if basis == "business" else "first_response_seconds"
res_col = "resolution_business_seconds" if basis == "business" else "resolution_seconds"


def box_pick(col: str, frame):
    chans = list(frame.channel)

    def pick(point):
        custom = point.get("customdata")
        ch = custom[0] if custom else None
        if ch is None:
            idx = point.get("curve_number")
            ch = chans[idx] if isinstance(idx, int) and 0 <= idx < len(chans) else None
        return {"channel": ch, "has": col} if ch else None
    return pick


event = st.plotly_chart(charts.duration_boxes(q, shown_targets, t("frt_dist", L), "first_response_target_seconds",
                                              L, labels), key="rt_frt", on_select="rerun", selection_mode="points")
rows_caption(L, q.n.sum(), "counts_answered")
if basis == "business" and q.zeros.sum():
    st.caption(t("zeros_note", L, n=int(q.zeros.sum()), share=100 * q.zeros.sum() / q.n.sum()))
drill_on_select(event, f, box_pick(frt_col, q))
definition(L, "first_response")

r = data.duration_quantiles(f, "resolution", basis)
event = st.plotly_chart(charts.duration_boxes(r, shown_targets, t("res_dist", L), "resolution_target_seconds",
                                              L, labels), key="rt_res", on_select="rerun", selection_mode="points")
rows_caption(L, r.n.sum(), "counts_resolved")
drill_on_select(event, f, box_pick(res_col, r))

wq = data.weekly_quantiles(f, basis)
tg = targets.set_index("channel").first_response_target_seconds if basis == "business" else None
st.plotly_chart(charts.weekly_quantiles(wq, t("trend", L), L, labels, f.start, f.end, tg), key="rt_trend")
rows_caption(L, wq.n.sum(), "counts_answered")

sla = data.sla_weekly(f)
event = st.plotly_chart(charts.sla_heatmap(sla, t("sla_heat", L), L, labels, goals.sla_met_rate, f.start, f.end),
                        key="rt_sla", on_select="rerun", selection_mode="points")
rows_caption(L, (sla.met + sla.breached).sum(), "counts_decided")
drill_on_select(event, f, customdata(["channel", "week", "sla"]))
definition(L, "sla")

st.plotly_chart(charts.sla_by_priority(data.sla_by_priority(f), t("sla_priority", L), L, goals.sla_met_rate),
                key="rt_prio")
st.caption(t("counts_decided_both", L))

st.subheader(t("next_reply", L))
nr = data.next_reply(f, basis)
st.dataframe(nr.assign(channel=[value_label("channel", v, L, labels) for v in nr.channel],
                       mean_seconds=[human_duration(v, L) for v in nr.mean_seconds],
                       p90_longest_seconds=[human_duration(v, L) for v in nr.p90_longest_seconds]),
             hide_index=True, key="rt_next",
             column_config={k: st.column_config.Column(t(f"col_{k}", L)) for k in nr.columns})
definition(L, "next_reply")

st.subheader(t("worst", L))
worst = data.worst_breaches(f)
show = worst.assign(
    metric=[t(f"m_{m}", L) for m in worst.metric],
    channel=[value_label("channel", v, L, labels) for v in worst.channel],
    priority=[value_label("priority", v, L, {}) for v in worst.priority],
    team=[value_label("team", v, L, teams) if pd.notna(v) else "–" for v in worst.team],
    waited=[human_duration(v, L) for v in worst.waited_seconds],
    target=[human_duration(v, L) for v in worst.target_seconds],
    over=[human_duration(v, L) for v in worst.over_target_seconds],
    over_ratio=[pct(v) for v in worst.over_target_ratio],
    created_at=worst.created_at.dt.strftime("%Y-%m-%d %H:%M"),
)[["interaction_id", "metric", "over_ratio", "over", "waited", "target", "channel", "priority", "team", "agent_id",
   "created_at"]]
st.caption(t("worst_help", L))
event = st.dataframe(show, hide_index=True, key="rt_worst", on_select="rerun", selection_mode="single-row",
                     column_config={k: st.column_config.Column(t(f"col_{k}", L)) for k in show.columns})
open_conversation_on_select(event, show.interaction_id, f)
footer(L)
