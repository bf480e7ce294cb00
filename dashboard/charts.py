"""Chart builders: DataFrame in, plotly figure out. No Streamlit here, so they are easy to test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .theme import channel_color

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "height": 360, "legend": {"orientation": "h", "y": -0.15}}


def wilson(k: float, n: float, z: float = 1.96) -> tuple[float, float]:
    if not n:
        return (math.nan, math.nan)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


def minutes(seconds):
    return np.asarray(seconds, dtype=float) / 60.0


def daily_volume(df: pd.DataFrame, title: str) -> go.Figure:
    fig = go.Figure()
    for ch in sorted(df.channel.unique()):
        part = df[df.channel == ch]
        fig.add_bar(x=part.created_day, y=part.contacts, name=ch, marker_color=channel_color(ch),
                    customdata=np.stack([part.channel, part.created_day.astype(str)], axis=1),
                    hovertemplate="%{customdata[1]} · %{customdata[0]}: %{y:,} contacts<extra></extra>")
    fig.update_layout(barmode="stack", title=title, yaxis_title="contacts", **LAYOUT)
    return fig


def hour_of_week(df: pd.DataFrame, title: str) -> go.Figure:
    grid = np.zeros((7, 24))
    for r in df.itertuples():
        grid[int(r.weekday) - 1, int(r.hour)] = r.contacts
    fig = go.Figure(go.Heatmap(z=grid, x=list(range(24)), y=WEEKDAYS, colorscale="Blues",
                               hovertemplate="%{y} %{x}:00 · %{z:,} contacts<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="hour", yaxis_autorange="reversed", **LAYOUT)
    return fig


def duration_boxes(q: pd.DataFrame, targets: pd.DataFrame | None, title: str, target_col: str | None) -> go.Figure:
    """Precomputed box per channel: whiskers p10–p90, box p25–p75, line at the median (minutes)."""
    fig = go.Figure()
    for r in q.itertuples():
        fig.add_trace(go.Box(
            name=r.channel, x=[r.channel], q1=[r.p25 / 60], median=[r.p50 / 60], q3=[r.p75 / 60],
            lowerfence=[r.p10 / 60], upperfence=[r.p90 / 60], marker_color=channel_color(r.channel),
            customdata=[[r.channel, r.n]],
            hovertemplate=f"{r.channel}: n={r.n:,}<extra></extra>", showlegend=False,
        ))
    if targets is not None and target_col:
        t = targets.set_index("channel")[target_col]
        xs = [c for c in q.channel if c in t.index and pd.notna(t[c])]
        fig.add_scatter(x=xs, y=[t[c] / 60 for c in xs], mode="markers", name="SLA target",
                        marker={"symbol": "line-ew-open", "size": 34, "color": "red", "line": {"width": 3}})
    fig.update_layout(title=title, yaxis_title="minutes (log scale)", yaxis_type="log", **LAYOUT)
    return fig


def weekly_quantiles(df: pd.DataFrame, title: str) -> go.Figure:
    fig = go.Figure()
    for ch in sorted(df.channel.unique()):
        part = df[df.channel == ch]
        fig.add_scatter(x=part.week, y=minutes(part.p50), name=f"{ch} p50", mode="lines+markers",
                        line={"color": channel_color(ch)}, legendgroup=ch)
        fig.add_scatter(x=part.week, y=minutes(part.p90), name=f"{ch} p90", mode="lines",
                        line={"color": channel_color(ch), "dash": "dot"}, legendgroup=ch)
    fig.update_layout(title=title, yaxis_title="minutes (log scale)", yaxis_type="log", **LAYOUT)
    return fig


def sla_heatmap(df: pd.DataFrame, title: str) -> go.Figure:
    df = df.assign(rate=df.met / (df.met + df.breached).replace(0, np.nan))
    piv = df.pivot_table(index="channel", columns="week", values="rate")
    n = df.assign(total=df.met + df.breached).pivot_table(index="channel", columns="week", values="total")
    fig = go.Figure(go.Heatmap(
        z=piv.values * 100, x=[str(c)[:10] for c in piv.columns], y=list(piv.index), colorscale="RdYlGn",
        zmin=50, zmax=100, customdata=n.reindex_like(piv).values,
        hovertemplate="%{y} · week of %{x}: %{z:.1f}% met (n=%{customdata:,})<extra></extra>",
        colorbar={"title": "% met"}))
    fig.update_layout(title=title, **LAYOUT)
    return fig


def share_over_time(df: pd.DataFrame, title: str, min_sample: int) -> go.Figure:
    """Weekly satisfied share with the Wilson band; thin weeks drawn hollow."""
    bounds = [wilson(k, n) for k, n in zip(df.satisfied, df.rated, strict=True)]
    lo, hi = [b[0] for b in bounds], [b[1] for b in bounds]
    share = df.satisfied / df.rated.replace(0, np.nan)
    fig = go.Figure()
    fig.add_scatter(x=list(df.week) + list(df.week)[::-1], y=[100 * v for v in hi] + [100 * v for v in lo][::-1],
                    fill="toself", fillcolor="rgba(31,119,180,0.15)", line={"width": 0}, name="95% interval",
                    mode="lines",
                    hoverinfo="skip")
    thin = df.rated < min_sample
    fig.add_scatter(x=df.week, y=100 * share, mode="lines+markers", name="satisfied share",
                    marker={"symbol": np.where(thin, "circle-open", "circle"), "size": 9},
                    customdata=df.rated, hovertemplate="week of %{x}: %{y:.1f}% (n=%{customdata})<extra></extra>")
    fig.update_layout(title=title, yaxis_title="% satisfied", **LAYOUT)
    return fig


def mean_over_time(df: pd.DataFrame, title: str) -> go.Figure:
    n = df.rated.replace(0, np.nan)
    mean = df.sum_score / n
    var = ((df.sum_sq - df.sum_score ** 2 / n) / (n - 1)).clip(lower=0)
    half = 1.96 * np.sqrt(var / n)
    fig = go.Figure()
    fig.add_scatter(x=list(df.week) + list(df.week)[::-1], y=list(mean + half) + list(mean - half)[::-1],
                    fill="toself", fillcolor="rgba(44,160,44,0.15)", line={"width": 0}, name="95% interval",
                    mode="lines",
                    hoverinfo="skip")
    fig.add_scatter(x=df.week, y=mean, mode="lines+markers", name="mean score", line={"color": "#2ca02c"})
    fig.update_layout(title=title, yaxis_title="mean score (1–5)", yaxis_range=[1, 5], **LAYOUT)
    return fig


def share_by(df: pd.DataFrame, title: str, min_sample: int) -> go.Figure:
    df = df[df.rated > 0].copy()
    df["share"] = df.satisfied / df.rated
    bounds = [wilson(k, n) for k, n in zip(df.satisfied, df.rated, strict=True)]
    df["lo"] = [b[0] for b in bounds]
    df["hi"] = [b[1] for b in bounds]
    colors = ["#bbbbbb" if n < min_sample else channel_color(str(v))
              for v, n in zip(df.value, df.rated, strict=True)]
    fig = go.Figure(go.Bar(
        x=df.value, y=100 * df.share, marker_color=colors, customdata=df.rated,
        error_y={"type": "data", "symmetric": False, "array": 100 * (df.hi - df.share),
                 "arrayminus": 100 * (df.share - df.lo)},
        hovertemplate="%{x}: %{y:.1f}% satisfied (n=%{customdata})<extra></extra>"))
    fig.update_layout(title=title, yaxis_title="% satisfied", yaxis_range=[0, 100], **LAYOUT)
    return fig


def coverage_matrix(df: pd.DataFrame, title: str) -> go.Figure:
    piv = df.pivot_table(index="topic", columns="language", values="count_contacts", fill_value=0)
    has = df.pivot_table(index="topic", columns="language", values="has_article_in_language",
                         aggfunc="max").reindex_like(piv)
    text = [[("✗ " if has.iloc[i, j] is False or (isinstance(has.iloc[i, j], float) and has.iloc[i, j] == 0)
              else "") + (f"{int(piv.iloc[i, j]):,}" if piv.iloc[i, j] else "")
             for j in range(piv.shape[1])] for i in range(piv.shape[0])]
    fig = go.Figure(go.Heatmap(z=np.log1p(piv.values), x=list(piv.columns), y=list(piv.index), text=text,
                               texttemplate="%{text}", colorscale="Oranges", showscale=False,
                               customdata=piv.values,
                               hovertemplate="%{y} · %{x}: %{customdata:,} contacts<extra></extra>"))
    fig.update_layout(title=title, **{**LAYOUT, "height": max(360, 28 * len(piv) + 120)})
    return fig


def deflection(df: pd.DataFrame, title: str) -> go.Figure:
    fig = go.Figure()
    for (aid, title_), part in df.groupby(["article_id", "title"]):
        part = part[part.is_complete_week]
        fig.add_scatter(x=part.week_offset, y=part.count_contacts, mode="lines+markers",
                        name=f"{aid} {title_} ({part.language.iloc[0] if len(part) else ''})")
    fig.add_vline(x=-0.5, line_dash="dash", line_color="grey", annotation_text="published")
    fig.update_layout(title=title, xaxis_title="weeks since publication", yaxis_title="contacts per week", **LAYOUT)
    return fig


def quarantine_bars(df: pd.DataFrame, title: str) -> go.Figure:
    df = df.assign(label=df.entity + " · " + df.column_name + " · " + df.check_name.str.slice(0, 40))
    fig = go.Figure(go.Bar(x=df.rows, y=df.label, orientation="h", marker_color="#d62728"))
    fig.update_layout(title=title, yaxis_autorange="reversed", **{**LAYOUT, "height": max(300, 24 * len(df) + 100)})
    return fig
