"""Conversations: the interactions behind any figure, filtered the same way, with a CSV download."""

import streamlit as st

from csqa.dashboard import data
from csqa.dashboard.common import DRILL_PREFIX, footer, page_start
from csqa.dashboard.i18n import t

L, f = page_start("conversations")
drill = {k[len(DRILL_PREFIX):]: v for k, v in st.query_params.items() if k.startswith(DRILL_PREFIX)}
drill = {k: v for k, v in drill.items() if k in data.DRILL_COLUMNS or k in data.FILTER_COLUMNS}
if drill:
    c1, c2 = st.columns([5, 1])
    c1.info(t("drill", L, what=", ".join(f"{k} = {v}" for k, v in sorted(drill.items()))))
    if c2.button(t("clear_drill", L), key="cv_clear"):
        for k in list(st.query_params):
            if k.startswith(DRILL_PREFIX):
                del st.query_params[k]
        st.rerun()
rows, n = data.conversations(f, drill, limit=1000)
st.caption(t("rows_shown", L, shown=len(rows), n=n))
st.dataframe(rows, hide_index=True, key="cv_rows")
if n:
    def csv_bytes() -> bytes:  # built only when the button is clicked
        full, _ = data.conversations(f, drill, limit=100_000)
        return full.to_csv(index=False).encode("utf-8")

    st.download_button(t("download", L), csv_bytes, "conversations.csv", "text/csv", key="cv_download")
footer(L)
