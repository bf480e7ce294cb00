"""Conversations: the interactions behind any figure, filtered the same way, with a CSV download."""

import streamlit as st

from csqa.dashboard import data
from csqa.dashboard.common import DRILL_PREFIX, bad_link_notice, drill_values, footer, page_start
from csqa.dashboard.i18n import t

L, f = page_start("conversations")
drill, ignored = drill_values(st.query_params.to_dict(), data.filter_options())  # parsed before any SQL
bad_link_notice(L, ignored)
if drill or ignored:
    c1, c2 = st.columns([5, 1])
    if drill:
        c1.info(t("drill", L, what=", ".join(f"{k} = {v}" for k, v in sorted(drill.items()))))
    if c2.button(t("clear_drill", L), key="cv_clear"):
        for k in list(st.query_params):
            if k.startswith(DRILL_PREFIX):
                del st.query_params[k]
        st.rerun()
if ignored:  # a value that is not valid matches nothing: say so, run no query
    st.caption(t("rows_shown", L, shown=0, n=0))
    footer(L)
    st.stop()
rows, n = data.conversations(f, drill, limit=1000)
st.caption(t("rows_shown", L, shown=len(rows), n=n))
st.dataframe(rows, hide_index=True, key="cv_rows")
if n:
    def csv_bytes() -> bytes:  # built only when the button is clicked
        full, _ = data.conversations(f, drill, limit=100_000)
        return full.to_csv(index=False).encode("utf-8")

    st.download_button(t("download", L), csv_bytes, "conversations.csv", "text/csv", key="cv_download")
footer(L)
