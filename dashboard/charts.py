"""Chart builders: DataFrame in, plotly figure out. No Streamlit here, so they are easy to test.

Every builder takes the language ``L`` (axes, legends and tooltips go through the translation table) and,
where channels show, their labels. Durations are drawn on a linear axis from zero in the unit their size
reads in (a business time of zero is a real value, never dropped by a log axis). Weeks are ISO weeks
labelled by their Monday; a week the date range cuts short is marked partial."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .i18n import t, value_label, weekdays
from .theme import CALM, GOAL, THIN, channel_color, human_duration, unit_for

LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "height": 360,
          "legend": {"orientation": "h", "y": -0.18}, "font": {"family": "sans-serif"}}


def wilson(k: float, n: float, z: float = 1.96) -> tuple[float, float]:
    if not n:
        return (math.nan, math.nan)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


def _chan(ch: str, L: str, labels: dict | None) -> str:
    return value_label("channel", ch, L, labels or {})


def week_label(monday, start: dt.date | None = None, end: dt.date | None = None, L: str = "en") -> str:
    """A week by its Monday (``11-09``); ``*`` marks a week the date range cuts short."""
    d = pd.Timestamp(monday).date()
    partial = (start is not None and start > d) or (end is not None and end < d + dt.timedelta(days=6))
    return f"{d:%m-%d}" + ("*" if partial else "")


def _noting_partial(title: str, labels, L: str) -> str:
    """The title, with what ``*`` means when a week on the axis is partial."""
    return f"{title} ({t('partial_week', L)})" if any(str(x).endswith("*") for x in labels) else title


def _goal_line(fig: go.Figure, goal: float, L: str) -> None:
    """The goal as a dashed line, named in the legend (a label on the line would sit on the bars)."""
    fig.add_hline(y=100 * goal, line_dash="dash", line_color=GOAL)
    fig.add_scatter(x=[None], y=[None], mode="lines", line={"dash": "dash", "color": GOAL}, hoverinfo="skip",
                    name=f"{t('goal', L)} {100 * goal:.0f}%")


def empty_figure(L: str, title: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=t("empty", L), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(title=title, xaxis_visible=False, yaxis_visible=False, **LAYOUT)
    return fig


def daily_volume(df: pd.DataFrame, title: str, L: str = "en", labels: dict | None = None) -> go.Figure:
    fig = go.Figure()
    unit = t("contacts_unit", L)
    for ch in sorted(df.channel.unique()):
        part = df[df.channel == ch]
        name = _chan(ch, L, labels)
        fig.add_bar(x=part.created_day, y=part.contacts, name=name, marker_color=channel_color(ch),
                    customdata=np.stack([part.channel, part.created_day.astype(str)], axis=1),
                    hovertemplate=f"%{{customdata[1]}} · {name}: %{{y:,}} {unit}<extra></extra>")
    fig.update_layout(barmode="stack", title=title, yaxis_title=t("contacts_axis", L), xaxis_tickformat="%m-%d",
                      **LAYOUT)
    return fig


def hour_of_week(df: pd.DataFrame, title: str, L: str = "en") -> go.Figure:
    grid = np.zeros((7, 24))
    for r in df.itertuples():
        grid[int(r.weekday) - 1, int(r.hour)] = r.contacts
    unit = t("contacts_unit", L)
    fig = go.Figure(go.Heatmap(z=grid, x=list(range(24)), y=weekdays(L), colorscale="Blues",
                               colorbar={"title": {"text": t("contacts_axis", L), "side": "right"}},
                               hovertemplate=f"%{{y}} %{{x}}:00 · %{{z:,}} {unit}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title=t("hour", L), yaxis_autorange="reversed", **LAYOUT)
    return fig


def duration_boxes(q: pd.DataFrame, targets: pd.DataFrame | None, title: str, target_col: str | None,
                   L: str = "en", labels: dict | None = None) -> go.Figure:
    """One panel per channel (channels differ by orders of magnitude): box p25–p75, whiskers p10–p90, line
    at the median, each on a linear axis from zero in its own unit; the target drawn when given."""
    n = max(len(q), 1)
    tgt = targets.set_index("channel")[target_col] if targets is not None and target_col else pd.Series(dtype=float)
    goals = [None if r.channel not in tgt.index or pd.isna(tgt.get(r.channel)) else float(tgt.get(r.channel))
             for r in q.itertuples()]
    units = [unit_for(max(r.p90 or 0, g or 0)) for r, g in zip(q.itertuples(), goals, strict=True)]
    # the unit goes in the panel's title: an axis title beside each narrow panel ran into its neighbour
    fig = make_subplots(rows=1, cols=n, horizontal_spacing=0.04 if n > 1 else 0.2,
                        subplot_titles=[f"{_chan(c, L, labels)}<br><sub>{t(u[1], L)}</sub>"  # narrow: 2 lines
                                        for c, u in zip(q.channel, units, strict=True)])
    for i, r in enumerate(q.itertuples(), start=1):
        target = goals[i - 1]
        div, _ = units[i - 1]
        name = _chan(r.channel, L, labels)
        tip = (f"{name} · n={r.n:,}<br>p10 {human_duration(r.p10, L)} · p25 {human_duration(r.p25, L)}"
               f"<br>{t('median', L)} {human_duration(r.p50, L)}<br>p75 {human_duration(r.p75, L)}"
               f" · p90 {human_duration(r.p90, L)}")
        if getattr(r, "zeros", 0):
            tip += "<br>" + t("zeros_tip", L, n=int(r.zeros), share=100 * r.zeros / r.n)
        fig.add_trace(go.Box(
            name=name, x=[name], q1=[r.p25 / div], median=[r.p50 / div], q3=[r.p75 / div],
            lowerfence=[r.p10 / div], upperfence=[r.p90 / div], marker_color=channel_color(r.channel),
            hoverinfo="skip", showlegend=False), row=1, col=i)
        # a box cannot be clicked: a see-through bar over it (p10–p90) carries the channel and the tooltip
        fig.add_trace(go.Bar(x=[name], y=[max((r.p90 - r.p10) / div, 1e-9)], base=[r.p10 / div], width=0.6,
                             marker={"color": channel_color(r.channel), "opacity": 0.02}, showlegend=False,
                             customdata=[[r.channel]], hovertemplate=tip + "<extra></extra>"), row=1, col=i)
        top = max(r.p90 or 0, target or 0) / div * 1.15 or 1
        if target is not None:
            fig.add_scatter(x=[name], y=[target / div], mode="markers", name=t("sla_target", L),
                            marker={"symbol": "line-ew-open", "size": 40, "color": GOAL, "line": {"width": 3}},
                            showlegend=i == 1, legendgroup="target", customdata=[[r.channel]],
                            hovertemplate=f"{t('sla_target', L)}: {human_duration(target, L)}<extra></extra>",
                            row=1, col=i)
        fig.update_yaxes(range=[0, top], row=1, col=i)
        fig.update_xaxes(showticklabels=False, row=1, col=i)
    fig.update_layout(title=title, **{**LAYOUT, "margin": {**LAYOUT["margin"], "t": 115}})  # room for panel titles
    return fig


def weekly_quantiles(df: pd.DataFrame, title: str, L: str = "en", labels: dict | None = None,
                     start: dt.date | None = None, end: dt.date | None = None,
                     targets: pd.Series | None = None) -> go.Figure:
    """Weekly p50 (solid) and p90 (dotted), one panel per channel on its own linear axis from zero."""
    chans = sorted(df.channel.unique())
    cols = min(4, max(len(chans), 1))
    rows = max(1, math.ceil(len(chans) / cols))
    goals = {ch: None if targets is None or ch not in targets.index or pd.isna(targets[ch]) else float(targets[ch])
             for ch in chans}
    units = {ch: unit_for(max(float(df.p90[df.channel == ch].max() or 0), goals[ch] or 0)) for ch in chans}
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"{_chan(c, L, labels)} ({t(units[c][1], L)})"
                                                              for c in chans],
                        vertical_spacing=0.18 if rows > 1 else 0.1, horizontal_spacing=0.05)
    weeks = []
    for i, ch in enumerate(chans):
        r, c = i // cols + 1, i % cols + 1
        part = df[df.channel == ch]
        target = goals[ch]
        div, _ = units[ch]
        x = [week_label(w, start, end, L) for w in part.week]
        weeks += x
        partial = [s.endswith("*") for s in x]
        for q, dash, label in (("p50", None, t("median", L)), ("p90", "dot", "p90")):
            fig.add_scatter(x=x, y=part[q] / div, mode="lines+markers", name=label, legendgroup=q,
                            showlegend=i == 0, line={"color": channel_color(ch), "dash": dash},
                            marker={"symbol": ["circle-open" if p else "circle" for p in partial]},
                            customdata=np.stack([part.n, [human_duration(v, L) for v in part[q]]], axis=1),
                            hovertemplate=f"%{{x}} · {label} %{{customdata[1]}} "
                                          "(n=%{customdata[0]:,})<extra></extra>",
                            row=r, col=c)
        if target is not None:
            fig.add_hline(y=target / div, line_dash="dash", line_color=GOAL, row=r, col=c)
        top = max(float(part.p90.max() or 0), target or 0) / div * 1.15 or 1
        fig.update_yaxes(range=[0, top], row=r, col=c)
    fig.update_xaxes(type="category", tickangle=0)  # "11-09" is a week's Monday, not a date for plotly to parse
    margin = {**LAYOUT["margin"], "t": 75}  # room for the panel titles
    fig.update_layout(title=_noting_partial(title, weeks, L), **{**LAYOUT, "height": 260 * rows + 80,
                                                                  "margin": margin})
    return fig


def sla_heatmap(df: pd.DataFrame, title: str, L: str = "en", labels: dict | None = None, goal: float = 0.9,
                start: dt.date | None = None, end: dt.date | None = None) -> go.Figure:
    """Share met per channel and week; the colour scale turns from red to green at the goal. Each cell is
    also a clickable marker (heatmaps cannot be selected) carrying its channel and week."""
    df = df.assign(total=df.met + df.breached)
    df = df.assign(rate=df.met / df.total.replace(0, np.nan))
    weeks = sorted(df.week.unique())
    chans = sorted(df.channel.unique())
    xs = [week_label(w, start, end, L) for w in weeks]
    ys = [_chan(c, L, labels) for c in chans]
    piv = df.pivot_table(index="channel", columns="week", values="rate").reindex(index=chans, columns=weeks)
    g = 100 * goal
    lo = max(0.0, g - (100 - g))  # symmetric around the goal
    scale = [[0, "#d73027"], [0.5, "#f7f7f7"], [1, "#1a9850"]]
    text = [["" if pd.isna(v) else f"{100 * v:.1f}%" for v in row] for row in piv.to_numpy()]
    fig = go.Figure(go.Heatmap(z=piv.to_numpy() * 100, x=xs, y=ys, colorscale=scale, zmin=lo, zmax=100, zmid=g,
                               text=text, texttemplate="%{text}", hoverinfo="skip",
                               colorbar={"title": {"text": t("pct_met", L), "side": "right"}}))
    cells = df[df.total > 0]
    wk = {w: s for w, s in zip(weeks, xs, strict=True)}
    ch = {c: s for c, s in zip(chans, ys, strict=True)}
    fig.add_scatter(
        x=[wk[w] for w in cells.week], y=[ch[c] for c in cells.channel], mode="markers",
        marker={"symbol": "square", "size": 28, "opacity": 0.01, "color": "#000"}, showlegend=False,
        customdata=np.stack([cells.channel, [pd.Timestamp(w).date().isoformat() for w in cells.week],
                             ["decided"] * len(cells), cells.total, [f"{100 * v:.1f}" for v in cells.rate]], axis=1),
        hovertemplate=(f"%{{y}} · {t('week_of', L)} %{{x}}: %{{customdata[4]}}% {t('met', L)} "
                       f"(n=%{{customdata[3]:,}}) · {t('goal', L)} {g:.0f}%<extra></extra>"))
    fig.update_layout(title=_noting_partial(title, xs, L), xaxis_type="category", yaxis_autorange="reversed",
                      **{**LAYOUT, "height": max(300, 40 * len(chans) + 120)})
    return fig


def share_over_time(df: pd.DataFrame, title: str, min_sample: int, L: str = "en", goal: float | None = None,
                    start: dt.date | None = None, end: dt.date | None = None) -> go.Figure:
    """Weekly satisfied share with the Wilson band on a 0–100% axis (a dip is not exaggerated); thin weeks
    drawn hollow; the goal as a line."""
    x = [week_label(w, start, end, L) for w in df.week]
    bounds = [wilson(k, n) for k, n in zip(df.satisfied, df.rated, strict=True)]
    lo, hi = [b[0] for b in bounds], [b[1] for b in bounds]
    share = df.satisfied / df.rated.replace(0, np.nan)
    fig = go.Figure()
    fig.add_scatter(x=x + x[::-1], y=[100 * v for v in hi] + [100 * v for v in lo][::-1],
                    fill="toself", fillcolor="rgba(76,120,168,0.15)", line={"width": 0}, name=t("interval95", L),
                    mode="lines", hoverinfo="skip")
    thin = df.rated < min_sample
    fig.add_scatter(x=x, y=100 * share, mode="lines+markers", name=t("satisfied_share", L), line={"color": CALM},
                    marker={"symbol": np.where(thin, "circle-open", "circle"), "size": 9},
                    customdata=df.rated,
                    hovertemplate=f"{t('week_of', L)} %{{x}}: %{{y:.1f}}% (n=%{{customdata:,}})<extra></extra>")
    if goal is not None:
        _goal_line(fig, goal, L)
    fig.update_layout(title=_noting_partial(title, x, L), yaxis_title=t("pct_satisfied", L), yaxis_range=[0, 100],
                      xaxis_type="category", **LAYOUT)
    return fig


def mean_over_time(df: pd.DataFrame, title: str, L: str = "en", start: dt.date | None = None,
                   end: dt.date | None = None) -> go.Figure:
    x = [week_label(w, start, end, L) for w in df.week]
    n = df.rated.replace(0, np.nan)
    mean = df.sum_score / n
    var = ((df.sum_sq - df.sum_score ** 2 / n) / (n - 1)).clip(lower=0)
    half = 1.96 * np.sqrt(var / n)
    fig = go.Figure()
    fig.add_scatter(x=x + x[::-1], y=list(mean + half) + list(mean - half)[::-1],
                    fill="toself", fillcolor="rgba(84,162,75,0.15)", line={"width": 0}, name=t("interval95", L),
                    mode="lines", hoverinfo="skip")
    fig.add_scatter(x=x, y=mean, mode="lines+markers", name=t("mean_score", L), line={"color": "#54a24b"},
                    customdata=df.rated,
                    hovertemplate=f"{t('week_of', L)} %{{x}}: %{{y:.2f}} (n=%{{customdata:,}})<extra></extra>")
    fig.update_layout(title=_noting_partial(title, x, L), yaxis_title=t("mean_score_axis", L), yaxis_range=[1, 5],
                      xaxis_type="category", **LAYOUT)
    return fig


def share_by(df: pd.DataFrame, title: str, min_sample: int, L: str = "en", dim: str = "channel",
             labels: dict | None = None, goal: float | None = None) -> go.Figure:
    df = df[df.rated > 0].copy()
    df["share"] = df.satisfied / df.rated
    bounds = [wilson(k, n) for k, n in zip(df.satisfied, df.rated, strict=True)]
    df["lo"] = [b[0] for b in bounds]
    df["hi"] = [b[1] for b in bounds]
    colors = [THIN if n < min_sample else CALM for n in df.rated]
    names = [value_label(dim, str(v), L, labels or {}) for v in df.value]
    fig = go.Figure(go.Bar(
        x=names, y=100 * df.share, marker_color=colors, name=t("satisfied_share", L),
        customdata=np.stack([df.value, df.rated], axis=1),
        error_y={"type": "data", "symmetric": False, "array": 100 * (df.hi - df.share),
                 "arrayminus": 100 * (df.share - df.lo), "color": "#888"},
        hovertemplate=f"%{{x}}: %{{y:.1f}}% {t('satisfied_word', L)} (n=%{{customdata[1]:,}})<extra></extra>"))
    if goal is not None:
        _goal_line(fig, goal, L)
    fig.update_layout(title=title, yaxis_title=t("pct_satisfied", L), yaxis_range=[0, 100], **LAYOUT)
    return fig


def backlog(df: pd.DataFrame, title: str, L: str = "en", labels: dict | None = None) -> go.Figure:
    """Open at the end of each day, stacked by channel."""
    fig = go.Figure()
    unit = t("open_unit", L)
    for ch in sorted(df.channel.unique()):
        part = df[df.channel == ch]
        name = _chan(ch, L, labels)
        fig.add_scatter(x=part.day, y=part.count_open_at_end, name=name, mode="lines", stackgroup="one",
                        line={"color": channel_color(ch), "width": 1},
                        hovertemplate=f"%{{x|%Y-%m-%d}} · {name}: %{{y:,}} {unit}<extra></extra>")
    fig.update_layout(title=title, yaxis_title=t("open_axis", L), xaxis_tickformat="%m-%d", **LAYOUT)
    return fig


def sla_by_priority(df: pd.DataFrame, title: str, L: str = "en", goal: float = 0.9) -> go.Figure:
    fig = go.Figure()
    names = [value_label("priority", p, L, {}) for p in df.priority]
    for metric, met, br, color in (("first_response", "fr_met", "fr_breached", CALM),
                                   ("resolution", "res_met", "res_breached", "#72b7b2")):
        total = (df[met] + df[br]).replace(0, np.nan)
        fig.add_bar(x=names, y=100 * df[met] / total, name=t(f"m_{metric}", L), marker_color=color,
                    customdata=np.stack([df[met] + df[br]], axis=1),
                    hovertemplate=f"%{{x}} · {t(f'm_{metric}', L)}: %{{y:.1f}}% "
                                  "(n=%{customdata[0]:,})<extra></extra>")
    _goal_line(fig, goal, L)
    fig.update_layout(title=title, barmode="group", yaxis_title=t("pct_met", L), yaxis_range=[0, 100], **LAYOUT)
    return fig


def coverage_matrix(df: pd.DataFrame, title: str, L: str = "en") -> go.Figure:
    piv = df.pivot_table(index="topic", columns="language", values="count_contacts", fill_value=0)
    has = df.pivot_table(index="topic", columns="language", values="has_article_in_language",
                         aggfunc="max").reindex_like(piv)
    text = [[("✗ " if has.iloc[i, j] is False or (isinstance(has.iloc[i, j], float) and has.iloc[i, j] == 0)
              else "") + (f"{int(piv.iloc[i, j]):,}" if piv.iloc[i, j] else "")
             for j in range(piv.shape[1])] for i in range(piv.shape[0])]
    unit = t("contacts_unit", L)
    rows = [value_label("topic", v, L, {}) for v in piv.index]
    fig = go.Figure(go.Heatmap(z=np.log1p(piv.values), x=list(piv.columns), y=rows, text=text,
                               texttemplate="%{text}", colorscale="Oranges", showscale=False,
                               customdata=piv.values,
                               hovertemplate=f"%{{y}} · %{{x}}: %{{customdata:,}} {unit}<extra></extra>"))
    fig.update_layout(title=title, **{**LAYOUT, "height": max(360, 28 * len(piv) + 120)})
    return fig


def deflection(df: pd.DataFrame, title: str, L: str = "en") -> go.Figure:
    fig = go.Figure()
    for (aid, _title), part in df.groupby(["article_id", "title"]):
        part = part[part.is_complete_week]
        fig.add_scatter(x=part.week_offset, y=part.count_contacts, mode="lines+markers", name=str(aid),
                        hovertemplate=f"{aid} · %{{x}}: %{{y:,}}<extra></extra>")
    fig.add_vline(x=-0.5, line_dash="dash", line_color="grey", annotation_text=t("published", L))
    fig.update_layout(title=title, xaxis_title=t("weeks_since", L), yaxis_title=t("contacts_per_week", L),
                      **{**LAYOUT, "legend": {"orientation": "v", "x": 1.02, "y": 1}})
    return fig


def quarantine_bars(df: pd.DataFrame, title: str, L: str = "en") -> go.Figure:
    df = df.assign(label=df.entity + " · " + df.column_name + " · " + df.check_name)
    fig = go.Figure(go.Bar(x=df.rows, y=df.label, orientation="h", marker_color="#b07a5a",
                           hovertemplate=f"%{{y}}: %{{x:,}} {t('rows_unit', L)}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title=t("rows_unit", L), yaxis_autorange="reversed",
                      **{**LAYOUT, "height": max(300, 24 * len(df) + 100)})
    return fig
