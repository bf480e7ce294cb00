"""Satisfaction: satisfied share and mean score over time with 95% bands, by dimension, response rate,
low-score comments (each opens its conversation), small-sample warnings."""

import streamlit as st

from csqa.dashboard import charts, data
from csqa.dashboard.common import (
    definition,
    empty_state,
    footer,
    open_conversation_on_select,
    page_start,
    rows_caption,
    url_choice,
)
from csqa.dashboard.i18n import t, value_label
from csqa.dashboard.theme import pct

L, f = page_start("satisfaction")
labels = data.channel_labels()
goal = data.goals().csat_satisfied_share
ms = data.min_sample()
weekly = data.csat_weekly(f)
# the cards are the sums of the weekly chart's rows: they cannot disagree with it
rated, satisfied = int(weekly.rated.sum()), int(weekly.satisfied.sum())
sent, answered = int(weekly.sent.sum()), int(weekly.answered.sum())
thin = f" · {t('small_sample_mark', L)}" if rated < ms else ""
c = st.columns(4)
c[0].metric(t("csat", L) + thin, pct(satisfied / rated if rated else None), help=f"n = {rated:,}")
c[1].metric(t("response_rate", L), pct(answered / sent if sent else None), help=f"{answered:,} / {sent:,}")
c[2].metric(t("ratings", L), f"{rated:,}")
with c[3]:
    definition(L, "csat")
if not rated:
    empty_state(L)
    footer(L)
    st.stop()
if rated < ms:
    st.warning(t("small_sample", L))

left, right = st.columns(2)
with left:
    st.plotly_chart(charts.share_over_time(weekly, t("csat_trend", L), ms, L, goal, f.start, f.end), key="cs_share")
with right:
    st.plotly_chart(charts.mean_over_time(weekly, t("mean_trend", L), L, f.start, f.end), key="cs_mean")
rows_caption(L, weekly.rated.sum(), "counts_rated")

dims = ["channel", "language", "topic", "region", "team"]
dim = url_choice(t("by_dim", L), dims, "cs_dim", "dim", lambda d: t(d, L))
by = data.csat_by(f, dim)
st.plotly_chart(charts.share_by(by, f"{t('by_dim', L)} {t(dim, L)}", ms, L, dim, data.dimension_labels(L).get(dim),
                                goal), key="cs_by")
if (by.rated < ms).any():
    st.caption(t("small_sample", L))
rows_caption(L, by.rated.sum(), "counts_rated")

st.subheader(t("low_comments", L))
st.caption(t("open_row", L))
low = data.low_comments(f)
show = low.assign(channel=[value_label("channel", v, L, labels) for v in low.channel],
                  topic=[value_label("topic", v, L, {}) for v in low.topic],
                  csat_responded_at=low.csat_responded_at.dt.strftime("%Y-%m-%d %H:%M"))
event = st.dataframe(show, hide_index=True, key="cs_comments", on_select="rerun", selection_mode="single-row",
                     column_config={k: st.column_config.Column(t(f"col_{k}", L)) for k in show.columns})
open_conversation_on_select(event, show.interaction_id, f)
footer(L)
