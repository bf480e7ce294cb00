"""csqa dashboard: the entry file routes, and draws what every page shares (language and filters, kept in
the URL) so they carry across pages. Run with ``csqa dashboard`` (binds to localhost)."""

import streamlit as st

from csqa.dashboard.common import keep_only_page_params, lang, shared_state
from csqa.dashboard.i18n import t

L = lang()
st.set_page_config(page_title=t("tab_title", L), layout="wide")  # no icon: it would be fetched from a CDN
st.markdown("<style>[data-testid='stMainBlockContainer'],.block-container{padding-top:1.5rem}</style>",
            unsafe_allow_html=True)  # no big blank above the title
pages = [  # no icons: a page's icon becomes the tab's icon, fetched from a font CDN
    st.Page("views/overview.py", title=t("overview", L), default=True),
    st.Page("views/response_times.py", title=t("response_times", L)),
    st.Page("views/satisfaction.py", title=t("satisfaction", L)),
    st.Page("views/agents.py", title=t("agents", L)),
    st.Page("views/faq_gaps.py", title=t("faq_gaps", L)),
    st.Page("views/data_quality.py", title=t("data_quality", L)),
    st.Page("views/conversations.py", title=t("conversations", L)),
    st.Page("views/conversation.py", title=t("conversation", L), visibility="hidden"),
]
shared_state()
page = st.navigation(pages)
keep_only_page_params(page.url_path)
page.run()
