"""Conversations: the interactions behind any figure, filtered the same way, the drill-down shown as removable
chips, each row opening its conversation, and a CSV of every row of the view."""

import pandas as pd
import streamlit as st

from csqa.dashboard import data
from csqa.dashboard.common import (
    DRILL_PREFIX,
    bad_link_notice,
    drill_values,
    empty_state,
    footer,
    open_conversation_on_select,
    page_start,
)
from csqa.dashboard.i18n import t, value_label
from csqa.dashboard.theme import human_duration

L, f = page_start("conversations")
labels = data.channel_labels()
teams = data.team_labels(L)
drill, ignored = drill_values(st.query_params.to_dict(), data.filter_options())  # parsed before any SQL
bad_link_notice(L, ignored)


def drill_text(k, v) -> str:
    if k in ("sla", "priority", "channel", "has"):
        return f"{t('drill_' + k, L)}: {value_label(k, str(v), L, labels)}"
    if k in ("team", "topic"):
        return f"{t(k, L)}: {value_label(k, str(v), L, teams if k == 'team' else {})}"
    return f"{t('drill_' + k, L) if k in ('day', 'week') else t(k, L)}: {v}"


if drill or ignored:
    with st.container(border=True):
        st.markdown(t("drill", L, what=" · ".join(drill_text(k, v) for k, v in sorted(drill.items()))))
        cols = st.columns(len(drill) + 1)
        for i, k in enumerate(sorted(drill)):
            if cols[i].button(f"✕ {drill_text(k, drill[k])}", key=f"cv_rm_{k}"):
                del st.query_params[DRILL_PREFIX + k]
                st.rerun()
        if cols[-1].button(t("clear_drill", L), key="cv_clear", type="primary"):
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
if not n:
    empty_state(L)
    footer(L)
    st.stop()
st.caption(t("open_row", L))
show = rows.assign(  # for reading: labels and human units (the CSV keeps codes and seconds)
    channel=[value_label("channel", v, L, labels) for v in rows.channel],
    priority=[value_label("priority", v, L, {}) for v in rows.priority],
    status=[value_label("status", v, L, {}) for v in rows.status],
    topic=[value_label("topic", v, L, {}) for v in rows.topic],
    # no agent (a bot's or an unassigned conversation), no team, no article: a dash, as for a missing duration
    **{c: rows[c].astype("object").where(rows[c].notna(), "–") for c in ("agent_id", "faq_article_id")},
    team=[value_label("team", v, L, teams) if pd.notna(v) else "–" for v in rows.team],
    first_response_sla_status=[value_label("sla", v, L, {}) for v in rows.first_response_sla_status],
    resolution_sla_status=[value_label("sla", v, L, {}) for v in rows.resolution_sla_status],
    created_at=rows.created_at.dt.strftime("%Y-%m-%d %H:%M"),
    **{c: [human_duration(v, L) for v in rows[c]] for c in
       ("first_response_seconds", "first_response_business_seconds", "resolution_seconds")})
event = st.dataframe(show, hide_index=True, key="cv_rows", on_select="rerun", selection_mode="single-row",
                     column_config={k: st.column_config.Column(t(f"col_{k}", L)) for k in show.columns})
open_conversation_on_select(event, rows.interaction_id, f)


def csv_bytes() -> bytes:  # built only when the button is clicked: every row of the view, in chunks
    return "".join(data.conversations_csv(f, drill)).encode("utf-8")


st.download_button(t("download_all", L, n=n), csv_bytes, "conversations.csv", "text/csv", key="cv_download")
footer(L)
