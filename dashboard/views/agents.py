"""Agents and teams: contacts, median first response, SLA, reopen rate, one-touch rate and CSAT per team and
per agent (the interactions, with every filter; the same columns in both tables)."""

import streamlit as st

from csqa.dashboard import data
from csqa.dashboard.common import definition, empty_state, footer, page_start
from csqa.dashboard.i18n import t, value_label
from csqa.dashboard.theme import human_duration, pct

L, f = page_start("agents")
ms = data.min_sample()


def table(df, name_col: str, frt_col: str):
    out = df.assign(**{frt_col: [human_duration(v, L) for v in df[frt_col]]})
    for k in ("sla_rate", "reopen_rate", "one_touch_rate", "csat_share"):
        out[k] = [pct(v) for v in df[k]]
    out["csat_share"] = [s + (f" ({t('small_sample_mark', L)})" if n < ms else "")
                         for s, n in zip(out.csat_share, df.rated, strict=True)]
    return out


st.subheader(t("teams", L))
tm = data.teams(f)
if tm.empty:
    empty_state(L)
    footer(L)
    st.stop()
teams = data.team_labels(L)
show = table(tm.assign(team=[value_label("team", v, L, teams) for v in tm.team]), "team", "median_frt_seconds")
st.dataframe(show, hide_index=True, key="ag_teams",
             column_config={k: st.column_config.Column(t(f"col_{k}", L)) for k in show.columns})
st.caption(t("teams_counts", L))

st.subheader(t("agents_table", L))
ag = data.agents(f)
show = table(ag, "agent_id", "median_frt_seconds")
st.dataframe(show, hide_index=True, key="ag_agents",
             column_config={k: st.column_config.Column(t(f"col_{k}", L)) for k in show.columns})
st.caption(t("agents_counts", L))
st.download_button(t("download", L), ag.to_csv(index=False).encode("utf-8"), "agents.csv", "text/csv",
                   key="ag_download")
definition(L, "agents")
footer(L)
