"""Satisfaction: satisfied share and mean score over time with 95% bands, by dimension, response rate,
low-score comments, small-sample warnings."""

import streamlit as st

from csqa.dashboard import charts, data
from csqa.dashboard.common import footer, page_start, rows_caption
from csqa.dashboard.i18n import t
from csqa.dashboard.theme import pct

L, f = page_start("satisfaction")
ms = data.min_sample()
weekly = data.csat_weekly(f)
# the cards are the sums of the weekly chart's rows: they cannot disagree with it
rated, satisfied = int(weekly.rated.sum()), int(weekly.satisfied.sum())
sent, answered = int(weekly.sent.sum()), int(weekly.answered.sum())
c = st.columns(3)
c[0].metric(t("csat", L), pct(satisfied / rated if rated else None), help=f"n = {rated:,}")
c[1].metric(t("response_rate", L), pct(answered / sent if sent else None), help=f"{answered:,} / {sent:,}")
c[2].metric("n", f"{rated:,}")
if rated < ms:
    st.warning(t("small_sample", L))

left, right = st.columns(2)
with left:
    st.plotly_chart(charts.share_over_time(weekly, t("csat_trend", L), ms), key="cs_share")
with right:
    st.plotly_chart(charts.mean_over_time(weekly, t("mean_trend", L)), key="cs_mean")
rows_caption(L, weekly.rated.sum())

dim = st.segmented_control(t("by_dim", L), ["channel", "language", "topic", "region", "team"],
                           default="channel", key="cs_dim", format_func=lambda d: t(d, L))
by = data.csat_by(f, dim or "channel")
st.plotly_chart(charts.share_by(by, f"{t('by_dim', L)} {t(dim or 'channel', L)}", ms), key="cs_by")
if (by.rated < ms).any():
    st.caption(t("small_sample", L))
rows_caption(L, by.rated.sum())

st.subheader(t("low_comments", L))
st.dataframe(data.low_comments(f), hide_index=True, key="cs_comments")
footer(L)
