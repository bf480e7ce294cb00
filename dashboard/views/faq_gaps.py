"""FAQ gaps: the ranked backlog, the coverage matrix, clusters of unmatched questions, before/after."""

import streamlit as st

from csqa.dashboard import charts, data
from csqa.dashboard.common import footer, page_start
from csqa.dashboard.i18n import t, value_label
from csqa.dashboard.theme import pct

L, _ = page_start("faq_gaps", filters=False)
days = data.faq_window_days()
st.subheader(t("gap_backlog", L, days=days))
gaps = data.faq_gaps()
# every figure first, the example questions last: at 1440 px the table then fits, and only the examples' text is
# cut (it shows in full on hover, and in the CSV, which also holds the suggested title terms)
order = ["priority_rank", "priority_score", "topic_or_cluster", "language", "gap_type", "count_contacts",
         "count_last_7d", "count_prev_7d", "satisfied_share", "example_questions", "suggested_title_terms"]
gaps = gaps[[c for c in order if c in gaps.columns]]
csv = gaps.to_csv(index=False).encode("utf-8")
gaps = gaps.assign(gap_type=[value_label("gap", v, L, {}) for v in gaps.gap_type],
                   topic_or_cluster=[value_label("topic", v, L, {}) for v in gaps.topic_or_cluster])
small = ["priority_rank", "language", "count_contacts"]
cfg = {k: st.column_config.Column(t(f"col_{k}", L), width="small" if k in small else None) for k in gaps.columns}
cfg.update({
    "priority_score": st.column_config.NumberColumn(t("col_priority_score", L), format="%.1f"),
    "example_questions": st.column_config.TextColumn(t("col_example_questions", L), width="large"),
    "satisfied_share": st.column_config.ProgressColumn(t("col_satisfied_share", L), min_value=0, max_value=1,
                                                       format="percent", width="small"),
    "suggested_title_terms": None,  # in the CSV; the clusters table below shows each cluster's terms
})
st.dataframe(gaps, hide_index=True, key="fg_gaps", column_config=cfg)
st.download_button(t("download", L), csv, "faq_gaps.csv", "text/csv",
                   key="fg_download")

cov = data.faq_coverage()
st.plotly_chart(charts.coverage_matrix(cov, t("coverage", L), L), key="fg_cov")
st.caption(t("coverage_counts", L, n=int(cov.count_contacts.sum()), m=data.faq_window_untopiced(), days=days))

st.subheader(t("clusters", L))
cl = data.faq_clusters()
cfg = {k: st.column_config.Column(t(f"col_{k}", L)) for k in cl.columns}
cfg["trend_ratio"] = st.column_config.NumberColumn(t("col_trend_ratio", L), format="%.2f")
cfg["cohesion"] = st.column_config.NumberColumn(t("col_cohesion", L), format="%.2f")
cfg["nearest_similarity"] = st.column_config.NumberColumn(t("col_nearest_similarity", L), format="%.2f")
cfg["is_gap"] = st.column_config.CheckboxColumn(t("col_is_gap", L))
st.dataframe(cl, hide_index=True, key="fg_clusters", column_config=cfg)
st.caption(t("clusters_judged", L))

defl = data.faq_deflection()
if len(defl):
    st.plotly_chart(charts.deflection(defl, t("deflection", L), L), key="fg_defl")
    summary = defl.drop_duplicates("article_id")[["article_id", "title", "topic", "language", "change_rate",
                                                   "is_beyond_noise"]]
    cfg = {k: st.column_config.Column(t(f"col_{k}", L)) for k in summary.columns}
    summary = summary.assign(change_rate=[pct(v) for v in summary.change_rate],
                             topic=[value_label("topic", v, L, {}) for v in summary.topic])
    st.dataframe(summary, hide_index=True, key="fg_defl_summary", column_config=cfg)
footer(L)
