"""csqa dashboard: the entry file only routes. Run with ``csqa dashboard`` (binds to localhost)."""

import streamlit as st

from csqa.dashboard.common import lang
from csqa.dashboard.i18n import t

st.set_page_config(page_title="csqa · support quality", page_icon=":material/support_agent:", layout="wide")
L = lang()
pages = [
    st.Page("pages/overview.py", title=t("overview", L), icon=":material/dashboard:", default=True),
    st.Page("pages/response_times.py", title=t("response_times", L), icon=":material/timer:"),
    st.Page("pages/satisfaction.py", title=t("satisfaction", L), icon=":material/sentiment_satisfied:"),
    st.Page("pages/faq_gaps.py", title=t("faq_gaps", L), icon=":material/help_center:"),
    st.Page("pages/data_quality.py", title=t("data_quality", L), icon=":material/fact_check:"),
    st.Page("pages/conversations.py", title=t("conversations", L), icon=":material/forum:"),
]
st.navigation(pages).run()
