"""What every page shares: the language, the sidebar filters (kept in the URL), the empty-warehouse
screen, the footer with the load time, and the click-through to the conversations page."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import streamlit as st

from . import data
from .i18n import t

DRILL_PREFIX = "drill_"


def lang() -> str:
    return "zh" if st.query_params.get("lang") == "zh" else "en"


def _qp_list(name: str) -> list[str]:
    raw = st.query_params.get(name, "")
    return [v for v in raw.split(",") if v] if raw else []


def _qp_date(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(st.query_params.get(name, ""))
    except ValueError:
        return None


def _set_qp(name: str, value: str | None) -> None:
    if value:
        if st.query_params.get(name) != value:
            st.query_params[name] = value
    elif name in st.query_params:
        del st.query_params[name]


def language_switch() -> None:
    choice = st.sidebar.radio("Language / 语言", ["English", "中文"], index=1 if lang() == "zh" else 0,
                              horizontal=True, key="ui_lang")
    _set_qp("lang", "zh" if choice == "中文" else None)


def sidebar_filters() -> data.Filters:
    """Filters from the sidebar; their state lives in the URL so a link reproduces the view.
    Values from the URL are kept only when they are known options (never passed on as text)."""
    L = lang()
    opts = data.filter_options()
    lo, hi = data.data_bounds()
    st.sidebar.header(t("filters", L))
    if "f_dates" not in st.session_state:
        start = _qp_date("start") or max(lo, hi - dt.timedelta(days=27))
        end = _qp_date("end") or hi
        start, end = min(max(start, lo), hi), min(max(end, lo), hi)
        st.session_state["f_dates"] = (min(start, end), max(start, end))
    picked = st.sidebar.date_input(t("date_range", L), min_value=lo, max_value=hi, key="f_dates")
    if isinstance(picked, tuple | list) and len(picked) == 2:
        start, end = picked
    else:  # the user has picked only the first day so far
        start = end = picked[0] if isinstance(picked, tuple | list) else picked
    _set_qp("start", start.isoformat())
    _set_qp("end", end.isoformat())
    values: dict[str, tuple[str, ...]] = {}
    for name in data.FILTER_COLUMNS:
        key = f"f_{name}"
        if key not in st.session_state:
            st.session_state[key] = [v for v in _qp_list(name) if v in opts[name]]
        chosen = st.sidebar.multiselect(t(name, L), opts[name], key=key)
        _set_qp(name, ",".join(chosen))
        if chosen:
            values[name] = tuple(chosen)
    return data.Filters(start, end, values)


def filter_params(f: data.Filters) -> dict[str, str]:
    out = {"start": f.start.isoformat(), "end": f.end.isoformat()}
    out.update({k: ",".join(v) for k, v in f.values.items()})
    if lang() == "zh":
        out["lang"] = "zh"
    return out


def no_data_screen(L: str, detail: str = "") -> None:
    st.title(t("title", L))
    st.warning(f"**{t('no_data', L)}.** {t('no_data_help', L)}")
    st.code("csqa load sample_data/\ncsqa dashboard", language="bash")
    if detail:
        st.caption(detail)


def page_start(title_key: str, *, filters: bool = True) -> tuple[str, data.Filters | None]:
    """Title, language switch and filters; shows the empty-warehouse screen and stops when there is
    nothing to show. Returns (language, filters)."""
    L = lang()
    language_switch()
    try:
        if not data.has_marts():
            no_data_screen(L, f"warehouse: {data.db_path()}")
            st.stop()
        f = sidebar_filters() if filters else None
    except data.NoData:
        no_data_screen(L, f"warehouse: {data.db_path()}")
        st.stop()
    except data.WarehouseBusy:
        st.title(t("title", L))
        st.info(t("busy", L))
        st.stop()
    st.title(t(title_key, L))
    return L, f


def footer(L: str) -> None:
    info = data.last_load()
    at = pd.Timestamp(info["last_good"]).strftime("%Y-%m-%d %H:%M UTC") if pd.notna(info["last_good"]) else "–"
    newest = pd.Timestamp(info["newest"]).strftime("%Y-%m-%d %H:%M UTC") if pd.notna(info["newest"]) else "–"
    st.caption(t("last_loaded", L, at=at, newest=newest))


def rows_caption(L: str, n: int) -> None:
    st.caption(t("rows_behind", L, n=int(n)))


def drill_on_select(event, f: data.Filters, fields: list[str]) -> None:
    """A click on a point opens the conversations behind it. ``fields`` name the point's customdata
    (e.g. ["channel", "day"]); only known drill fields are passed on."""
    try:
        points = event.selection.points if event else []
    except AttributeError:
        points = []
    if not points:
        return
    custom = points[0].get("customdata") or []
    params = filter_params(f)
    for name, value in zip(fields, custom, strict=False):
        params[DRILL_PREFIX + name] = str(value)[:64]
    st.switch_page("pages/conversations.py", query_params=params)


SLA_STATUSES = ("met", "breached", "open", "not_applicable", "no_target")
_ISO_WEEK = re.compile(r"(\d{4})-?W(\d{2})(?:-?([1-7]))?")
BAD_LINK = ("This link holds a value that is not valid, so no conversation matches it: {what}. "
            "Clear the drill-down or pick a point on a chart again.",
            "链接中的参数无效,没有匹配的会话:{what}。请清除下钻条件或在图表上重新选择。")


def parse_week(value: str) -> dt.date:
    """A week named by any of its days (``2026-11-18``) or as an ISO week (``2026-W47``): its Monday
    (weeks are ISO weeks, Monday to Sunday, in the reporting time zone; see docs/METRICS.md)."""
    m = _ISO_WEEK.fullmatch(value)
    day = dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1) if m else dt.date.fromisoformat(value[:10])
    if not m and len(value) > 10 and not re.fullmatch(r"[T ]00:00(:00)?", value[10:]):
        raise ValueError(value)
    return day - dt.timedelta(days=day.weekday())


def drill_values(params, options: dict[str, list[str]]) -> tuple[dict, list[str]]:
    """The drill-down values of a link (``drill_*``), each parsed and checked before it reaches SQL: days and
    weeks must be dates, an SLA status one of the known ones, a filter value one of its options. Returns
    (the valid ones as typed values, a description of each value that was ignored)."""
    good: dict = {}
    bad: list[str] = []
    for key in sorted(params):
        if not key.startswith(DRILL_PREFIX):
            continue
        name, value = key[len(DRILL_PREFIX):], str(params[key])[:64]
        try:
            if name == "day":
                good[name] = dt.date.fromisoformat(value)
            elif name == "week":
                good[name] = parse_week(value)
            elif name == "sla":
                if value not in SLA_STATUSES:
                    raise ValueError(value)
                good[name] = value
            elif name in data.FILTER_COLUMNS:
                if value not in options.get(name, []):
                    raise ValueError(value)
                good[name] = value
            else:
                raise ValueError(value)
        except (ValueError, TypeError, OverflowError):
            bad.append(f"{key} = {value}")
    return good, bad


def bad_link_notice(L: str, bad: list[str]) -> None:
    if bad:
        en, zh = BAD_LINK
        st.warning((zh if L == "zh" else en).format(what="; ".join(bad)))
