"""The contacts of ``faq_coverage``'s window that are not repeated, kept between refreshes
(``staging.faq_single_contacts``).

A contact is repeated when the same customer comes back on the same topic within 7 days: the next contact of its
(customer, topic) in (created_at, interaction_id) order is at most 7 days later. sql/marts/30_faq_coverage.sql
finds them with a window function over every contact of the window (``single``), which at 10M interactions sorted
820,000 rows each night (0.9–1.1 s of the mart's 1.6 s) for a batch that changes a few of them. Most contacts are
repeated (in the 10M benchmark warehouse 30,705 of the window's 824,459 are not), so the others are kept: fewer
rows to store and to join.

The flag of a contact depends on its successor only, and a successor is later, so inside the window too: the flag is
the same whatever the window's start. A refresh rewrites the fact rows of its scope (``_scope_before``: as the fact
table held them; ``_scope_after``: as it holds them now), but most of them (the open interactions whose SLA clock
runs) keep their customer, topic and creation time: those change no flag. The flag of a contact can change only if
a moved scope row (its (customer, topic, created_at) before or after, where they differ, or a new one) lies between
it and 7 days after it, or it is a moved row itself. So an incremental refresh recomputes the flags of the rows of
the moved rows' (customer, topic) keys from the last one before their earliest moved row on (found among the key's
rows of the 7 days before it; the fact table's created_at zone maps skip older row groups), which hold all those
contacts and their successors, drops the window's contacts that left it, and equals the full query's rows
(tests/test_marts.py). The window only moves forward; if its start moved back, or the state is missing, or the rows
to recompute are half the window or more (a young warehouse, or the empty one a first batch meets), it is rebuilt by
the full query.
"""

from __future__ import annotations

import re

import duckdb

from .warehouse import table_exists

TABLE = "staging.faq_single_contacts"
_CUT = "staging.faq_single_contacts_window"
# the CTE of 30_faq_coverage.sql that finds the contacts not repeated: its body is the full query
_CTE_RE = re.compile(r"\nsingle as \((\n.*?)\n\),\n", re.S)
_STATE_COLUMNS = "interaction_id, customer_id, topic, created_at"
# the update is given up for the full query when the rows it would recompute are this share of the window or more
REBUILD_SHARE = 0.5


def full_query(sql: str) -> str:
    """The body of the mart's ``single`` CTE (reads the ``settings`` CTE)."""
    m = _CTE_RE.search(sql)
    if not m:
        raise ValueError("faq_coverage: its SQL must define the CTE 'single as (...)' before 'windowed'")
    return m.group(1)


def refresh(con: duckdb.DuckDBPyConnection, sql: str, *, full: bool) -> tuple[str, str]:
    """Bring ``staging.faq_single_contacts`` up to date and return (the mart's SQL reading it, how: 'rebuilt' or
    'updated'). Incremental needs the temp tables ``_scope_before`` (with ``interaction_id``, ``customer_id``,
    ``fct_topic``, ``created_at``) and ``_scope_after`` (``interaction_id``, ``customer_id``, ``topic``,
    ``created_at``)."""
    body = full_query(sql)
    cut = con.execute("select as_of_at - to_days(faq_window_days) from staging.settings").fetchall()[0][0]
    prev = None
    if not full and table_exists(con, *TABLE.split(".")) and table_exists(con, *_CUT.split(".")):
        prev = con.execute(f"select window_start_at from {_CUT}").fetchall()[0][0]
    if full or prev is None or cut is None or cut < prev or not _update(con, cut):
        con.execute(f"create or replace table {TABLE} as with settings as (select * from staging.settings) {body}")
        how = "rebuilt"
    else:
        how = "updated"
    con.execute(f"create or replace table {_CUT} as select ?::timestamptz as window_start_at", [cut])
    return sql.replace(body, f"\n    select {_STATE_COLUMNS} from {TABLE}", 1), how


def _update(con: duckdb.DuckDBPyConnection, cut) -> bool:
    """Update the kept rows by the scope's moved rows; False (nothing written) if it cannot."""
    # the scope's rows that moved: as the fact table held them and as it holds them now, where the two differ (a join
    # by id; EXCEPT ALL over the same rows took 4 times as long)
    con.execute(
        """create or replace temp table _rep_moved as
           with b as (select interaction_id, customer_id, fct_topic as topic, created_at from _scope_before
                      where fct_topic is not null and created_at is not null),
                a as (select interaction_id, customer_id, topic, created_at from _scope_after
                      where topic is not null and created_at is not null)
           select b.* from b left join a using (interaction_id)
           where a.interaction_id is null or a.customer_id is distinct from b.customer_id
              or a.topic is distinct from b.topic or a.created_at is distinct from b.created_at
           union all
           select a.* from a left join b using (interaction_id)
           where b.interaction_id is null or a.customer_id is distinct from b.customer_id
              or a.topic is distinct from b.topic or a.created_at is distinct from b.created_at"""
    )
    since, nulls = con.execute("select min(created_at) - interval 7 day, count(*) - count(customer_id) "
                               "from _rep_moved").fetchall()[0]
    if nulls:  # customer_id is required by the contract; the joins below match on it with =
        con.execute("drop table _rep_moved")
        return False
    # each moved row's key (customer, topic): its window rows from 7 days before its first moved row (the fact table's
    # created_at zone maps skip older row groups)
    con.execute(
        """create or replace temp table _rep_near as
           with keys as (select customer_id, topic, min(created_at) as first_at from _rep_moved group by all)
           select f.interaction_id, f.customer_id, f.topic, f.created_at, k.first_at
           from marts.fct_interactions as f
           join keys as k on f.customer_id = k.customer_id and f.topic = k.topic
                and f.created_at >= k.first_at - interval 7 day
           where f.created_at > $cut and f.created_at >= $since and f.topic is not null""",
        {"cut": cut, "since": since or cut},
    )
    # when those rows are half the window or more (a batch as big as the window: a young warehouse), the full query
    # costs no more than the update
    near, window = con.execute(
        """select (select count(*) from _rep_near),
                  (select count(*) from marts.fct_interactions where created_at > $cut and topic is not null)""",
        {"cut": cut}).fetchall()[0]
    if near >= REBUILD_SHARE * window:
        con.execute("drop table _rep_moved")
        con.execute("drop table _rep_near")
        return False
    # a flag can change only from the key's last row before its first moved row on (its successor may be a moved one;
    # an earlier row's successor is at or before that row, unmoved): those rows with their flags, by a window function
    # over them (not a join of contacts with their later ones, which grows with the square of a busy customer's)
    con.execute(
        """create or replace temp table _rep_rows as
           with starts as (select customer_id, topic,
                                  coalesce(max(case when created_at < first_at then created_at end), min(first_at))
                                      as start_at
                           from _rep_near group by all)
           select n.interaction_id, n.customer_id, n.topic, n.created_at,
                  lead(n.created_at) over (partition by n.customer_id, n.topic order by n.created_at, n.interaction_id)
                      <= n.created_at + interval 7 day as is_repeated,
           from _rep_near as n
           join starts as s on s.customer_id = n.customer_id and s.topic = n.topic and n.created_at >= s.start_at"""
    )
    con.execute(
        f"""delete from {TABLE}
            where created_at <= $cut
               or interaction_id in (select interaction_id from _rep_rows)
               or interaction_id in (select interaction_id from _rep_moved)""",
        {"cut": cut},
    )
    con.execute(f"insert into {TABLE} select {_STATE_COLUMNS} from _rep_rows where is_repeated is not true")
    for t in ("_rep_moved", "_rep_near", "_rep_rows"):
        con.execute(f"drop table {t}")
    return True
