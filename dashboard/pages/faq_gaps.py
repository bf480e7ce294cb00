"""FAQ gaps: the ranked backlog, the coverage matrix, clusters of unmatched questions, before/after."""

import streamlit as st

from csqa.dashboard import charts, data
from csqa.dashboard.common import footer, page_start
from csqa.dashboard.i18n import t

L, _ = page_start("faq_gaps", filters=False)
days = data.faq_window_days()
st.subheader(t("gap_backlog", L, days=days))
gaps = data.faq_gaps()
st.dataframe(gaps, hide_index=True, key="fg_gaps",
             column_config={"satisfied_share": st.column_config.ProgressColumn(min_value=0, max_value=1,
                                                                              format="percent"),
                            "priority_score": st.column_config.NumberColumn(format="%.1f")})
st.download_button(t("download", L), gaps.to_csv(index=False).encode("utf-8"), "faq_gaps.csv", "text/csv",
                   key="fg_download")

cov = data.faq_coverage()
st.plotly_chart(charts.coverage_matrix(cov, t("coverage", L)), key="fg_cov")
st.caption(t("rows_behind", L, n=int(cov.count_contacts.sum())).split("·")[0] + f"· last {days} days")

st.subheader(t("clusters", L))
st.dataframe(data.faq_clusters(), hide_index=True, key="fg_clusters")

defl = data.faq_deflection()
if len(defl):
    st.plotly_chart(charts.deflection(defl, t("deflection", L)), key="fg_defl")
    summary = defl.drop_duplicates("article_id")[["article_id", "title", "topic", "language", "change_rate",
                                                   "is_beyond_noise"]]
    st.dataframe(summary, hide_index=True, key="fg_defl_summary",
                 column_config={"change_rate": st.column_config.NumberColumn(format="percent")})
footer(L)
