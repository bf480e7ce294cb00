"""One conversation: what it was about, its waits against the targets, every message, and its survey."""

import pandas as pd
import streamlit as st

from csqa.dashboard import data
from csqa.dashboard.common import footer, page_start
from csqa.dashboard.i18n import t, value_label
from csqa.dashboard.theme import human_duration

L, f = page_start("conversation")
labels = data.channel_labels()
cid = str(st.query_params.get("id", ""))[:64]
row = data.conversation(cid, (f.start, f.end)) if cid else pd.DataFrame()
if row.empty:
    st.warning(t("no_conversation", L, id=cid or "–"))
    footer(L)
    st.stop()
r = row.iloc[0]
topic = value_label("topic", r.topic, L, {}) if pd.notna(r.topic) else "–"
team = value_label("team", r.team, L, data.team_labels(L)) if pd.notna(r.team) else "–"
agent = r.agent_id if pd.notna(r.agent_id) else "–"
st.subheader(f"{r.interaction_id} · {value_label('channel', r.channel, L, labels)} · "
             f"{value_label('priority', r.priority, L, {})} · {value_label('status', r.status, L, {})}")
st.caption(f"{t('col_created_at', L)}: {pd.Timestamp(r.created_at):%Y-%m-%d %H:%M} UTC · {t('team', L)}: {team} · "
           f"{t('col_agent_id', L)}: {agent} · {t('topic', L)}: {topic} · {t('language', L)}: {r.language}")
if pd.notna(r.subject):
    st.markdown(f"**{t('col_subject', L)}:** {r.subject}")
c = st.columns(4)
c[0].metric(t("m_first_response", L), human_duration(r.first_response_seconds, L),
            help=f"{t('business', L)}: {human_duration(r.first_response_business_seconds, L)}")
c[1].metric(t("sla_target", L), human_duration(r.first_response_target_seconds, L),
            value_label("sla", r.first_response_sla_status, L, {}), delta_color="off", delta_arrow="off")
c[2].metric(t("m_resolution", L), human_duration(r.resolution_seconds, L),
            help=f"{t('business', L)}: {human_duration(r.resolution_business_seconds, L)}")
c[3].metric(t("col_max_next_reply", L), human_duration(r.max_next_reply_seconds, L),
            help=t("help_waits", L, n=int(r.count_next_replies or 0), w=int(r.count_reply_waits or 0)))

st.subheader(t("messages", L))
msgs = data.conversation_messages(cid, data.event_bounds(r, "message"))
if msgs.empty:
    st.info(t("no_messages", L))
else:
    show = msgs.assign(sent_at=msgs.sent_at.dt.strftime("%Y-%m-%d %H:%M:%S"),
                       sender_role=[value_label("role", v, L, {}) for v in msgs.sender_role],
                       wait_seconds=[human_duration(v, L) if pd.notna(v) else "" for v in msgs.wait_seconds])
    st.dataframe(show, hide_index=True, key="cv1_messages", width="stretch",
                 column_config={k: st.column_config.Column(t(f"col_{k}", L)) for k in show.columns})
st.subheader(t("survey", L))
sv = data.conversation_surveys(cid, data.event_bounds(r, "survey"))
if sv.empty:
    st.info(t("no_survey", L))
else:
    sv = sv.assign(sent_at=sv.sent_at.dt.strftime("%Y-%m-%d %H:%M"),
                   responded_at=sv.responded_at.dt.strftime("%Y-%m-%d %H:%M").fillna("–"),
                   score=[str(int(v)) if pd.notna(v) else "–" for v in sv.score], comment=sv.comment.fillna("–"))
    st.dataframe(sv, hide_index=True, key="cv1_survey",
                 column_config={k: st.column_config.Column(t(f"col_{k}", L)) for k in sv.columns})
footer(L)
