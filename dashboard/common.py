"""What every page shares: the language and the sidebar filters (drawn once, by the entry file, so they carry
across pages; their state lives in the URL so a link reproduces the view), the empty-warehouse screen, the
footer with the load time, and the click-through to the conversations and to one conversation."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import streamlit as st

from . import data
from .i18n import METRIC_SECTIONS, t, value_label

DRILL_PREFIX = "drill_"
LANG_KEY = "ui_lang"
PAGE_PARAMS = {"conversations": ("drill_",), "conversation": ("id",), "response_times": ("basis",),
               "satisfaction": ("dim",)}


def lang() -> str:
    """The language: the sidebar's choice of this run (so a switch shows on the same click), else the link's."""
    v = st.session_state.get(LANG_KEY)
    if v in ("en", "zh"):
        return v
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


def keep_only_page_params(url_path: str) -> None:
    """Page-specific parameters (a drill-down, a conversation id) do not follow the user to other pages."""
    mine = PAGE_PARAMS.get(url_path, ())
    for k in list(st.query_params):
        for owner, prefixes in PAGE_PARAMS.items():
            if owner != url_path and any(k.startswith(pre) for pre in prefixes) \
                    and not any(k.startswith(pre) for pre in mine):
                del st.query_params[k]
                break


def url_choice(label: str, options: list[str], key: str, param: str, format_func) -> str:
    """A page's own choice (a radio: one option is always chosen), kept in the URL under ``param`` when it is
    not the first option, and kept across language switches and page changes."""
    _restore(key)
    if st.session_state.get(key) not in options:
        asked = st.query_params.get(param)
        st.session_state[key] = asked if asked in options else options[0]
    value = st.radio(label, options, format_func=format_func, horizontal=True, key=key, on_change=_keep, args=(key,))
    _keep(key)
    _set_qp(param, value if value != options[0] else None)
    return value


def language_switch() -> str:
    _restore(LANG_KEY)
    if LANG_KEY not in st.session_state:
        st.session_state[LANG_KEY] = "zh" if st.query_params.get("lang") == "zh" else "en"
    st.sidebar.radio("Language / 语言", ["en", "zh"], format_func=lambda v: "中文" if v == "zh" else "English",
                     horizontal=True, key=LANG_KEY, on_change=_keep, args=(LANG_KEY,))
    L = st.session_state[LANG_KEY]
    _keep(LANG_KEY)
    _set_qp("lang", "zh" if L == "zh" else None)
    return L


KEEP = "_keep_"  # a widget's value mirrored under a plain key: Streamlit drops widget state on a page change


def _restore(key: str) -> None:
    if KEEP + key in st.session_state:
        st.session_state[key] = st.session_state[KEEP + key]


def _keep(key: str) -> None:
    st.session_state[KEEP + key] = st.session_state[key]


def _changed(key: str) -> None:
    _keep(key)
    st.session_state.pop("_bad_filters", None)


def sidebar_filters(L: str) -> data.Filters:
    """Filters from the sidebar; their state lives in the URL so a link reproduces the view. A link's values
    are kept only when they are known options (never passed on as text); the others are named in a notice."""
    opts = data.filter_options()
    labels = data.dimension_labels(L)
    lo, hi = data.data_bounds()
    st.sidebar.header(t("filters", L))
    bad: list[str] = []
    _restore("f_dates")
    if "f_dates" not in st.session_state:
        start, end = _qp_date("start"), _qp_date("end")
        for name, got in (("start", start), ("end", end)):
            if name in st.query_params and got is None:
                bad.append(f"{name} = {str(st.query_params[name])[:64]}")
        start = start or max(lo, hi - dt.timedelta(days=27))
        end = end or hi
        start, end = min(max(start, lo), hi), min(max(end, lo), hi)
        st.session_state["f_dates"] = (min(start, end), max(start, end))
    picked = st.sidebar.date_input(t("date_range", L), min_value=lo, max_value=hi, key="f_dates",
                                   on_change=_changed, args=("f_dates",))
    _keep("f_dates")
    if isinstance(picked, tuple | list) and len(picked) == 2:
        start, end = picked
    else:  # the user has picked only the first day so far
        start = end = picked[0] if isinstance(picked, tuple | list) else picked
    _set_qp("start", start.isoformat())
    _set_qp("end", end.isoformat())
    values: dict[str, tuple[str, ...]] = {}
    for name in data.FILTER_COLUMNS:
        key = f"f_{name}"
        _restore(key)
        if key not in st.session_state:
            asked = _qp_list(name)
            st.session_state[key] = [v for v in asked if v in opts[name]]
            bad += [f"{name} = {v[:64]}" for v in asked if v not in opts[name]]
        chosen = st.sidebar.multiselect(t(name, L), opts[name], key=key, on_change=_changed, args=(key,),
                                        format_func=lambda v, n=name: value_label(n, v, L, labels.get(n, {})),
                                        placeholder=t("all", L))
        _keep(key)
        _set_qp(name, ",".join(chosen))
        if chosen:
            values[name] = tuple(chosen)
    if bad:
        st.session_state["_bad_filters"] = bad
    return data.Filters(start, end, values)


def shared_state() -> str:
    """Called by the entry file on every run, before the page: language and filters, kept in the URL."""
    L = language_switch()
    st.session_state["_status"] = "ok"
    st.session_state["_filters"] = None
    try:
        if not data.has_marts():
            st.session_state["_status"] = "nodata"
        else:
            st.session_state["_filters"] = sidebar_filters(L)
    except data.NoData:
        st.session_state["_status"] = "nodata"
    except data.WarehouseBusy:
        st.session_state["_status"] = "busy"
    return L


def filter_params(f: data.Filters) -> dict[str, str]:
    out = {"start": f.start.isoformat(), "end": f.end.isoformat()}
    out.update({k: ",".join(v) for k, v in f.values.items()})
    if lang() == "zh":
        out["lang"] = "zh"
    return out


def no_data_screen(L: str) -> None:
    """What to run, and what was looked at: the warehouse, or the lake with ``csqa dashboard --lake``."""
    st.title(t("title", L))
    st.warning(f"**{t('no_data', L)}.** {t('no_data_help', L)}")
    lake = data.lake_dir()
    if lake:
        st.code(f"csqa spark load sample_data/ --lake {lake}\ncsqa dashboard --lake {lake}", language="bash")
        st.caption(f"{t('lake', L)}: {lake}")
    else:
        st.code("csqa load sample_data/\ncsqa dashboard", language="bash")
        st.caption(f"{t('warehouse', L)}: {data.db_path()}")


def page_start(title_key: str, *, filters: bool = True) -> tuple[str, data.Filters | None]:
    """Title and the state the entry file prepared; shows the empty-warehouse screen and stops when there is
    nothing to show. Returns (language, filters)."""
    L = lang()
    status = st.session_state.get("_status")
    if status is None:  # run on its own (not through the entry file)
        shared_state()
        status = st.session_state["_status"]
    if status == "nodata":
        no_data_screen(L)
        st.stop()
    if status == "busy":
        st.title(t("title", L))
        st.info(t("busy", L))
        st.stop()
    st.title(t(title_key, L))
    bad = st.session_state.get("_bad_filters")
    if bad:
        st.warning(t("bad_filters", L, what="; ".join(bad)))
    f = st.session_state.get("_filters")
    if not filters:
        st.caption(t("not_filtered", L))
    return L, f


def footer(L: str) -> None:
    info = data.last_load()
    at = pd.Timestamp(info["last_good"]).strftime("%Y-%m-%d %H:%M UTC") if pd.notna(info["last_good"]) else "–"
    newest = pd.Timestamp(info["newest"]).strftime("%Y-%m-%d %H:%M UTC") if pd.notna(info["newest"]) else "–"
    as_of = pd.Timestamp(info["as_of"]).strftime("%Y-%m-%d %H:%M UTC") if pd.notna(info["as_of"]) else "–"
    st.caption(t("last_loaded", L, at=at, newest=newest, as_of=as_of))


def rows_caption(L: str, n: int, what: str = "counts_contacts") -> None:
    """What a chart counts, so two charts' totals never differ without saying why."""
    st.caption(t(what, L, n=int(n)))


def definition(L: str, key: str) -> None:
    """The metric's definition one click away, with the section of docs/METRICS.md that pins it."""
    with st.popover(t("definition", L), icon=":material/info:"):
        st.markdown(t(f"def_{key}", L))
        st.caption(f"docs/METRICS.md § {METRIC_SECTIONS[key]}")


def empty_state(L: str) -> None:
    st.info(t("empty", L), icon=":material/filter_alt_off:")


def drill_on_select(event, f: data.Filters, pick) -> None:
    """A click on a point opens the conversations behind it. ``pick(point)`` names the point's drill values
    (e.g. {"channel": "email", "day": "2026-11-10"}), or None when the point stands for nothing."""
    try:
        points = event.selection.points if event else []
    except AttributeError:
        points = []
    if not points:
        return
    values = pick(points[0])
    if not values:
        return
    params = filter_params(f)
    for name, value in values.items():
        params[DRILL_PREFIX + name] = str(value)[:64]
    st.switch_page("views/conversations.py", query_params=params)


def metric_delta(a, b, fmt, *, inverse: bool = False) -> dict:
    """``st.metric``'s delta arguments for a change from ``b`` to ``a`` shown by ``fmt``: none when either is
    missing; a change that rounds to nothing as it is shown ("-0.0 pt" for 90.046 % against 90.084 %) is "±0.0",
    neither a rise nor a fall (a red arrow down for no visible change read as a drop: a new user's review)."""
    if a is None or b is None or a != a or b != b:
        return {"delta": None}
    text = fmt(a - b)
    if not re.search(r"[1-9]", text):
        return {"delta": "±" + text.lstrip("+-"), "delta_color": "off", "delta_arrow": "off"}
    return {"delta": text, "delta_color": "inverse" if inverse else "normal"}


def customdata(fields: list[str]):
    def pick(point):
        custom = point.get("customdata") or []
        return {n: v for n, v in zip(fields, custom, strict=False) if v is not None}
    return pick


def open_conversation_on_select(event, ids, f: data.Filters) -> None:
    """A selected table row opens that conversation's own view."""
    try:
        rows = event.selection.rows if event else []
    except AttributeError:
        rows = []
    if not rows:
        return
    params = filter_params(f)
    params["id"] = str(list(ids)[rows[0]])
    st.switch_page("views/conversation.py", query_params=params)


SLA_STATUSES = ("met", "breached", "open", "not_applicable", "no_target", "decided")
PRIORITIES = ("low", "normal", "high", "urgent")
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
            elif name == "priority":
                if value not in PRIORITIES:
                    raise ValueError(value)
                good[name] = value
            elif name == "has":
                if value not in data.HAS_COLUMNS:
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
