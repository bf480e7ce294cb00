"""Response times: distributions against the SLA target, p50/p90 trends, SLA by week, worst breaches."""

import streamlit as st

from csqa.dashboard import charts, data
from csqa.dashboard.common import drill_on_select, footer, page_start, rows_caption
from csqa.dashboard.i18n import t
from csqa.dashboard.theme import human_duration

L, f = page_start("response_times")
basis_label = st.segmented_control(t("basis", L), [t("calendar", L), t("business", L)],
                                   default=t("business", L), key="rt_basis")
basis = "calendar" if basis_label == t("calendar", L) else "business"
targets = data.sla_targets()

q = data.duration_quantiles(f, "first_response", basis)
event = st.plotly_chart(charts.duration_boxes(q, targets, t("frt_dist", L), "first_response_target_seconds"),
                        key="rt_frt", on_select="rerun", selection_mode="points")
rows_caption(L, q.n.sum())
drill_on_select(event, f, ["channel"])

r = data.duration_quantiles(f, "resolution", basis)
st.plotly_chart(charts.duration_boxes(r, targets, t("res_dist", L), "resolution_target_seconds"), key="rt_res")
rows_caption(L, r.n.sum())

wq = data.weekly_quantiles(f, basis)
st.plotly_chart(charts.weekly_quantiles(wq, t("trend", L)), key="rt_trend")

sla = data.sla_weekly(f)
event = st.plotly_chart(charts.sla_heatmap(sla, t("sla_heat", L)), key="rt_sla", on_select="rerun",
                        selection_mode="points")
rows_caption(L, (sla.met + sla.breached).sum())

st.subheader(t("worst", L))
worst = data.worst_breaches(f)
show = worst.assign(
    waited=worst.first_response_business_seconds.map(human_duration),
    target=worst.first_response_target_seconds.map(human_duration),
    over=worst.over_target_seconds.map(human_duration),
)[["interaction_id", "channel", "priority", "team", "agent_id", "created_at", "waited", "target", "over"]]
st.dataframe(show, hide_index=True, key="rt_worst")
footer(L)
