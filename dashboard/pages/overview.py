"""Overview: volume, response, SLA, CSAT and backlog against the previous period; volume by hour of week."""

import streamlit as st

from csqa.dashboard import charts, data
from csqa.dashboard.common import drill_on_select, footer, page_start, rows_caption
from csqa.dashboard.i18n import t
from csqa.dashboard.theme import human_duration, pct

L, f = page_start("overview")
now, before = data.kpis(f), data.kpis(f.previous())
st.caption(f"{f.start} → {f.end} · {t('vs_prev', L)}: {f.previous().start} → {f.previous().end}")


def delta(a, b, fmt):
    if a is None or b is None or a != a or b != b:
        return None
    return fmt(a - b)


cols = st.columns(6)
cols[0].metric(t("volume", L), f"{int(now['volume']):,}", delta=f"{int(now['volume'] - before['volume']):+,}")
cols[1].metric(t("median_frt", L), human_duration(now["median_frt"]),
               delta=delta(now["median_frt"], before["median_frt"], lambda d: f"{d / 60:+.1f} min"),
               delta_color="inverse")
cols[2].metric(t("p90_frt", L), human_duration(now["p90_frt"]),
               delta=delta(now["p90_frt"], before["p90_frt"], lambda d: f"{d / 60:+.1f} min"),
               delta_color="inverse")
cols[3].metric(t("sla_met", L), pct(now["sla_rate"]),
               delta=delta(now["sla_rate"], before["sla_rate"], lambda d: f"{100 * d:+.1f} pt"))
cols[4].metric(t("csat", L), pct(now["csat_share"]),
               delta=delta(now["csat_share"], before["csat_share"], lambda d: f"{100 * d:+.1f} pt"))
cols[5].metric(t("backlog", L), f"{now['backlog']:,}", delta=f"{now['backlog'] - before['backlog']:+,}",
               delta_color="inverse")

goals = data.goals()


def against(col, value, goal, label):
    if value is None or value != value:
        return
    ok = value >= goal
    col.markdown(f":{'green' if ok else 'red'}[{'●'} {label} {100 * goal:.0f}%]")


against(cols[3], now["sla_rate"], goals.sla_met_rate, t("goal", L))
against(cols[4], now["csat_share"], goals.csat_satisfied_share, t("goal", L))

daily = data.daily_volume(f)
event = st.plotly_chart(charts.daily_volume(daily, t("daily_volume", L)), key="ov_daily", on_select="rerun",
                        selection_mode="points")
rows_caption(L, daily.contacts.sum())
st.caption(t("open_rows", L))
drill_on_select(event, f, ["channel", "day"])

how = data.hour_of_week(f)
st.plotly_chart(charts.hour_of_week(how, t("by_hour", L)), key="ov_how")
rows_caption(L, how.contacts.sum())
footer(L)
