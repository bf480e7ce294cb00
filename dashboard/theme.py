"""Consistent colours per channel and readable units (one unit per magnitude, in the chosen language)."""

from __future__ import annotations

import math

CHANNEL_COLORS = {
    "web_chat": "#4c78a8",
    "app_chat": "#72b7b2",
    "ticket": "#9d7ebd",
    "email": "#b07a5a",
    "phone": "#54a24b",
    "social_weibo": "#e45756",
    "social_wechat": "#8c8c8c",
    "social_twitter": "#bcbd22",
}
FALLBACK = ["#e377c2", "#ff9d4d", "#aec7e8", "#98df8a", "#ff9896", "#c5b0d5"]
CALM = "#4c78a8"  # ordinary shares: never alarm red
THIN = "#c7c7c7"  # too few ratings to read
GOAL = "#444444"  # goal and target lines

# seconds per unit, and the unit's label key in the translation table
UNITS = [(1, "unit_s"), (60, "unit_min"), (3600, "unit_h"), (86400, "unit_d")]


def channel_color(channel: str) -> str:
    if channel in CHANNEL_COLORS:
        return CHANNEL_COLORS[channel]
    return FALLBACK[sum(map(ord, channel)) % len(FALLBACK)]


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def unit_for(seconds: float | None) -> tuple[int, str]:
    """The unit a person reads a duration of this size in: below 90 s in seconds, below 90 min in minutes,
    below 36 h in hours, else days. Returns (seconds per unit, label key)."""
    s = 0.0 if _missing(seconds) else abs(float(seconds))
    if s < 90:
        return UNITS[0]
    if s < 90 * 60:
        return UNITS[1]
    if s < 36 * 3600:
        return UNITS[2]
    return UNITS[3]


def human_duration(seconds: float | None, lang: str = "en", unit: tuple[int, str] | None = None) -> str:
    """42 s, 3.5 min, 2.3 h, 1.4 d (秒/分钟/小时/天 in Chinese); ``unit`` forces one (to match a value)."""
    from .i18n import t

    if _missing(seconds):
        return "–"
    div, key = unit or unit_for(seconds)
    value = float(seconds) / div
    digits = 0 if div == 1 or abs(value) >= 100 else 1
    return f"{value:,.{digits}f} {t(key, lang)}"


def human_change(seconds: float, like: float | None, lang: str = "en") -> str:
    """A change in the unit of the value it belongs to: "8.4 h ↑ +0.5 h", never "+28.2 min"."""
    unit = unit_for(like)
    text = human_duration(abs(seconds), lang, unit)
    return ("+" if seconds >= 0 else "−") + text


def pct(x: float | None) -> str:
    """Shares always with one decimal."""
    if _missing(x):
        return "–"
    return f"{100 * x:.1f}%"
