"""The repeat contacts of ``faq_coverage``'s window, kept between refreshes (``staging.faq_repeat_contacts``).

A contact is repeated when the same customer comes back on the same topic within 7 days: the next contact of its
(customer, topic) in (created_at, interaction_id) order is at most 7 days later. sql/marts/30_faq_coverage.sql
finds them with a window function over every contact of the window (``repeated``), which at 10M interactions
sorted 820,000 rows each night (1.1 s of the mart's 1.3 s) for a batch that changes a few of them.

The flag of a contact depends on its successor only, and a successor is later, so inside the window too: the flag is
the same whatever the window's start. A refresh changes the fact rows of its scope (``_scope_before``: as the fact
table held them; ``_scope_after``: as it holds them now). The flag of a contact outside the scope can change only if
a scope row, before or after, lies between it and 7 days after it (its successor came or went); a scope row's own
flag is recomputed anyway. So an incremental refresh recomputes the flags of those contacts only, from the rows of
the scope's (customer, topic) keys since 7 days before their earliest scope row (the fact table's created_at zone
maps skip older row groups), drops the window's contacts that left it, and equals the full query's rows
(tests/test_marts.py). The window only moves forward; if its start moved back, or the state is missing, it is
rebuilt by the full query.
"""

from __future__ import annotations

import re

import duckdb

TABLE = "staging.faq_repeat_contacts"
_CUT = "staging.faq_repeat_contacts_window"
# the CTE of 30_faq_coverage.sql that finds the repeat contacts: its body is the full query
_CTE_RE = re.compile(r"\nrepeated as \((\n.*?)\n\),\n", re.S)
_STATE_COLUMNS = "interaction_id, customer_id, topic, created_at"


def full_query(sql: str) -> str:
    """The body of the mart's ``repeated`` CTE (reads the ``settings`` CTE)."""
    m = _CTE_RE.search(sql)
    if not m:
        raise ValueError("faq_coverage: its SQL must define the CTE 'repeated as (...)' before 'windowed'")
    return m.group(1)


def refresh(con: duckdb.DuckDBPyConnection, sql: str, *, full: bool) -> tuple[str, str]:
    """Bring ``staging.faq_repeat_contacts`` up to date and return (the mart's SQL reading it, how: 'rebuilt' or
    'updated'). Incremental needs the temp tables ``_scope_before`` (with ``customer_id``, ``fct_topic``) and
    ``_scope_after`` (with ``interaction_id``, ``customer_id``, ``topic``, ``created_at``)."""
    body = full_query(sql)
    cut = con.execute("select as_of_at - to_days(faq_window_days) from staging.settings").fetchall()[0][0]
    prev = None
    if not full and _has(con, "faq_repeat_contacts") and _has(con, "faq_repeat_contacts_window"):
        prev = con.execute(f"select window_start_at from {_CUT}").fetchall()[0][0]
    if full or prev is None or cut is None or cut < prev:
        con.execute(f"create or replace table {TABLE} as with settings as (select * from staging.settings) {body}")
        how = "rebuilt"
    else:
        _update(con, cut)
        how = "updated"
    con.execute(f"create or replace table {_CUT} as select ?::timestamptz as window_start_at", [cut])
    return sql.replace(body, f"\n    select {_STATE_COLUMNS} from {TABLE}", 1), how


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("select count(*) from duckdb_tables() where schema_name = 'staging' and table_name = ?",
                            [table]).fetchall()[0][0])


def _update(con: duckdb.DuckDBPyConnection, cut) -> None:
    # the scope's rows before and after: where a contact's successor may have come or gone
    con.execute(
        """create or replace temp table _rep_pos as
           select customer_id, fct_topic as topic, created_at from _scope_before
           where fct_topic is not null and created_at is not null
           union all
           select customer_id, topic, created_at from _scope_after where topic is not null and created_at is not null"""
    )
    since = con.execute("select min(created_at) - interval 7 day from _rep_pos").fetchall()[0][0]
    if since is None:  # no contact with a topic in scope: only the window's start moved
        con.execute(f"delete from {TABLE} where created_at <= ?", [cut])
        con.execute("drop table _rep_pos")
        return
    # the window's rows of those (customer, topic) keys from 7 days before their earliest scope row: every contact
    # whose flag may change, and every successor of theirs
    con.execute(
        """create or replace temp table _rep_rows as
           with keys as (select customer_id, topic, min(created_at) - interval 7 day as since from _rep_pos
                         group by all)
           select f.interaction_id, f.customer_id, f.topic, f.created_at
           from marts.fct_interactions as f
           join keys as k on f.customer_id is not distinct from k.customer_id and f.topic = k.topic
                and f.created_at >= k.since
           where f.created_at > $cut and f.created_at >= $since and f.topic is not null""",
        {"cut": cut, "since": since},
    )
    # the contacts with a scope row (before or after) at most 7 days after them: the scope's own rows among them
    con.execute(
        """create or replace temp table _rep_targets as
           select distinct r.interaction_id, r.customer_id, r.topic, r.created_at
           from _rep_rows as r
           join _rep_pos as p on p.customer_id is not distinct from r.customer_id and p.topic = r.topic
                and p.created_at >= r.created_at and p.created_at <= r.created_at + interval 7 day"""
    )
    con.execute(
        f"""delete from {TABLE}
            where created_at <= $cut
               or interaction_id in (select interaction_id from _rep_targets)
               or interaction_id in (select interaction_id from _scope_before)""",
        {"cut": cut},
    )
    con.execute(
        f"""insert into {TABLE}
            select t.interaction_id, t.customer_id, t.topic, t.created_at
            from _rep_targets as t
            where exists (select 1 from _rep_rows as s
                          where s.customer_id is not distinct from t.customer_id and s.topic = t.topic
                            and (s.created_at > t.created_at
                                 or (s.created_at = t.created_at and s.interaction_id > t.interaction_id))
                            and s.created_at <= t.created_at + interval 7 day)"""
    )
    for t in ("_rep_pos", "_rep_rows", "_rep_targets"):
        con.execute(f"drop table {t}")
