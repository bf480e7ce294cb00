"""Consistent colours per channel and readable units."""

from __future__ import annotations

import math

CHANNEL_COLORS = {
    "web_chat": "#1f77b4",
    "app_chat": "#17becf",
    "ticket": "#9467bd",
    "email": "#8c564b",
    "phone": "#2ca02c",
    "social_weibo": "#d62728",
    "social_wechat": "#7f7f7f",
    "social_twitter": "#bcbd22",
}
FALLBACK = ["#e377c2", "#ff7f0e", "#aec7e8", "#98df8a", "#ff9896", "#c5b0d5"]


def channel_color(channel: str) -> str:
    if channel in CHANNEL_COLORS:
        return CHANNEL_COLORS[channel]
    return FALLBACK[sum(map(ord, channel)) % len(FALLBACK)]


def human_duration(seconds: float | None) -> str:
    """42 s, 3.5 min, 2.3 h, 1.4 d: the unit a person reads."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "–"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def pct(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{100 * x:.1f}%"
