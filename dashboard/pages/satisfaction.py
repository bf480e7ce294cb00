"""Satisfaction: satisfied share and mean score over time with 95% bands, by dimension, response rate,
low-score comments, small-sample warnings."""

import streamlit as st

from dashboard import charts, data
from dashboard.common import footer, page_start, rows_caption
from dashboard.i18n import t
from dashboard.theme import pct

L, f = page_start("satisfaction")
ms = data.min_sample()
weekly = data.csat_weekly(f)
k = data.kpis(f)
c = st.columns(3)
c[0].metric(t("csat", L), pct(k["csat_share"]), help=f"n = {int(k['rated']):,}")
rate = k["surveys_answered"] / k["surveys_sent"] if k["surveys_sent"] else None
c[1].metric(t("response_rate", L), pct(rate),
            help=f"{int(k['surveys_answered'] or 0):,} / {int(k['surveys_sent'] or 0):,}")
c[2].metric("n", f"{int(k['rated']):,}")
if k["rated"] < ms:
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
