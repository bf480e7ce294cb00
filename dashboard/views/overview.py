"""Overview: volume, SLA, CSAT, reopen, one-touch and backlog against the previous period; first response per
channel (each against its own target); daily volume, backlog trend and volume by hour of week."""

import streamlit as st

from csqa.dashboard import charts, data
from csqa.dashboard.common import (
    customdata,
    definition,
    drill_on_select,
    empty_state,
    footer,
    metric_delta,
    page_start,
    rows_caption,
)
from csqa.dashboard.i18n import t, value_label
from csqa.dashboard.theme import human_duration, pct

L, f = page_start("overview")
labels = data.channel_labels()
goals = data.goals()
now, before = data.kpis(f), data.kpis(f.previous())
has_prev = bool(before["volume"])
st.caption(f"{f.start} → {f.end} · {t('vs_prev', L)}: {f.previous().start} → {f.previous().end}"
           + ("" if has_prev else f" · {t('no_prev', L)}"))
if not now["volume"]:
    empty_state(L)
    footer(L)
    st.stop()
ms = data.min_sample()


def delta(a, b, fmt, *, inverse: bool = False) -> dict:
    return metric_delta(a, b, fmt, inverse=inverse) if has_prev else {"delta": None}


def small(n) -> str:
    return f" · {t('small_sample_mark', L)}" if n < ms else ""


points = lambda d: f"{100 * d:+.1f} {t('pt', L)}"  # noqa: E731
cols = st.columns(6)
cols[0].metric(t("volume", L), f"{int(now['volume']):,}", **delta(now["volume"], before["volume"],
                                                                 lambda d: f"{int(d):+,}"),
               help=None if has_prev else t("no_prev", L))
cols[1].metric(t("sla_met", L), pct(now["sla_rate"]), **delta(now["sla_rate"], before["sla_rate"], points),
               help=t("help_sla", L, n=int(now["sla_met"] + now["sla_breached"])))
cols[2].metric(t("res_sla_met", L), pct(now["res_rate"]), **delta(now["res_rate"], before["res_rate"], points),
               help=t("help_sla", L, n=int(now["res_met"] + now["res_breached"])))
cols[3].metric(t("csat", L) + small(now["rated"]), pct(now["csat_share"]),
               **delta(now["csat_share"], before["csat_share"], points),
               help=t("help_csat", L, n=int(now["rated"])))
cols[4].metric(t("reopen_rate", L), pct(now["reopen_rate"]),
               **delta(now["reopen_rate"], before["reopen_rate"], points, inverse=True),
               help=t("help_of", L, n=int(now["reopen_eligible"])))
cols[5].metric(t("backlog", L), f"{now['backlog']:,}",
               **delta(now["backlog"], before["backlog"], lambda d: f"{int(d):+,}", inverse=True))


def against(col, value, goal):
    if value is None or value != value:
        return
    ok = value >= goal
    col.markdown(f":{'green' if ok else 'red'}[● {t('goal', L)} {100 * goal:.0f}%]")


against(cols[1], now["sla_rate"], goals.sla_met_rate)
against(cols[3], now["csat_share"], goals.csat_satisfied_share)
if now["sla_unknown"]:  # excluded from both SLA rates, like open clocks: say so rather than hide it
    st.warning(t("sla_unknown", L, n=int(now["sla_unknown"])))
c = st.columns(6)
c[0].metric(t("one_touch_rate", L), pct(now["one_touch_rate"]),
            **delta(now["one_touch_rate"], before["one_touch_rate"], points),
            help=t("help_of", L, n=int(now["one_touch_eligible"])))
with c[5]:
    definition(L, "overview")

st.subheader(t("by_channel_frt", L))
summary = data.channel_summary(f)
table = summary.assign(
    channel=[value_label("channel", v, L, labels) for v in summary.channel],
    median_calendar=[human_duration(v, L) for v in summary.median_calendar],
    median_business=[human_duration(v, L) for v in summary.median_business],
    target=[human_duration(v, L) for v in summary.target_seconds],
    met_share=[pct(m / (m + b)) if m + b else "–" for m, b in zip(summary.met, summary.breached, strict=True)],
)[["channel", "contacts", "median_calendar", "median_business", "target", "met_share"]]
cfg = {k: st.column_config.Column(t(f"col_{k}", L)) for k in table.columns}
cfg["contacts"] = st.column_config.NumberColumn(t("col_contacts", L), format="localized")
st.dataframe(table, hide_index=True, key="ov_channels", column_config=cfg)
if (summary.median_business == 0).any():
    st.caption(t("zeros_short", L))

daily = data.daily_volume(f)
event = st.plotly_chart(charts.daily_volume(daily, t("daily_volume", L), L, labels), key="ov_daily",
                        on_select="rerun", selection_mode="points")
rows_caption(L, daily.contacts.sum())
st.caption(t("open_rows", L))
drill_on_select(event, f, customdata(["channel", "day"]))

bl = data.backlog_trend(f)
if len(bl):
    st.plotly_chart(charts.backlog(bl, t("backlog_trend", L), L, labels), key="ov_backlog")
    st.caption(t("backlog_counts", L))

how = data.hour_of_week(f)
st.plotly_chart(charts.hour_of_week(how, t("by_hour", L), L), key="ov_how")
rows_caption(L, how.contacts.sum())
footer(L)
