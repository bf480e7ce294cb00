"""How a quarantine check's name is shown to people (``csqa load --dry-run``, the dashboard's data quality page).

pandera names a built-in check with its arguments (``isin(['web_chat', 'app_chat', 'ticket', ...])``,
``str_matches('^[A-Z]{2}$')``), and ``audit.quarantine.check_name`` keeps that whole: it says what was allowed when
the row was read. Shown beside a column and a value, a long one buries both; the value shows what came instead.
"""

from __future__ import annotations

MAX_SHOWN = 40


def check_label(check: str | None) -> str:
    """``check`` whole when short, else its name with the arguments elided: ``isin(…)``."""
    if not check:
        return ""
    if len(check) <= MAX_SHOWN or "(" not in check:
        return check
    return check.split("(", 1)[0] + "(…)"
