"""The FAQ model's two deterministic samples, kept between refreshes so a nightly batch costs its own size.

The model (``marts.fit_faq_model``) learns from two samples of the whole warehouse:

- **tagged**: per agent topic, the first ``faq.max_tagged_per_topic`` distinct (first_message, subject) pairs
  with that topic, ordered by ``(hash(question), question)`` (question = first message, else subject);
- **corpus**: the first ``CORPUS_SIZE`` distinct questions by ``(hash(question), question)``, each with the
  smallest FAQ language it is asked in.

Both are bottom-k samples by a hash, so they merge as data grows; but an upsert can change or remove an
interaction's question, and the removed question may have been sampled. So the state is not the sample itself
but **every** question up to a bound, with how many interactions ask it: ``staging.faq_sample_rows`` (sample,
group, question, a, b, n) holds, per sample and group (a topic for ``tagged``, '' for ``corpus``), each distinct
row (tagged: a = first_message, b = subject; corpus: a = FAQ language) whose question's key is at or below the
group's bound in ``staging.faq_sample_bounds`` (no row there: no bound, every question of the group is kept),
with n > 0 interactions. A refresh adds the counts of its scope's interactions after the batch and subtracts
their counts before it (read from the fact table, which holds each interaction as the last refresh saw it);
rows outside the bound are ignored, rows whose count reaches 0 are dropped. Each group keeps at most
``2 × need`` questions (the bound is lowered when it grows past that), and while every bounded group still
holds ``need`` questions, the samples read from the state are exactly those of a full recompute. A group that
falls below ``need`` (many sampled questions removed), a missing state or a count that would go negative
rebuild the state from the whole warehouse (``rebuild``), as every full refresh does.

``tests/test_faq_samples.py`` holds the kept samples to a full recompute after loads, upserts that change and
remove sampled questions, and bounds that are lowered and exhausted.
"""

from __future__ import annotations

import logging

import duckdb

log = logging.getLogger(__name__)

CORPUS_SIZE = 20_000  # questions in the model's corpus sample (lexical vocabulary and neighbour pool)

# tagged and corpus rows of a set of interactions: {src} has the columns of staging.stg_interactions
# (interaction_id, topic, first_message, subject, language, created_at)
_ROWS_SQL = """select 'tagged' as sample, topic as grp, coalesce(first_message, subject) as question,
       first_message as a, subject as b
from {src}
where topic is not null and coalesce(first_message, subject) is not null
union all
select 'corpus' as sample, '' as grp, question, faq_language as a, null::varchar as b
from staging.stg_questions_rows('{src}')
where question is not null"""

# the key order of both samples
_KEY = "hash(question), question"
_IN_BOUND = """(bd.sample is null or hash(r.question) < bd.bound_hash
               or (hash(r.question) = bd.bound_hash and r.question <= bd.bound_question))"""

# the samples as a full recompute gives them (fit_faq_model's inputs), read from the state
TAGGED_SQL = f"""select question, topic from (
    select grp as topic, question, row_number() over (partition by grp order by {_KEY}) as n
    from staging.faq_sample_rows where sample = 'tagged')
where n <= ? order by topic, question"""


def corpus_sql() -> str:
    return f"""select question, min(a) as faq_language from staging.faq_sample_rows where sample = 'corpus'
group by question order by {_KEY} limit {CORPUS_SIZE}"""


def _caps(max_tagged: int) -> str:
    return f"(case sample when 'tagged' then {2 * max_tagged} else {2 * CORPUS_SIZE} end)"


def exists(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute(
        """select count(*) from information_schema.tables where table_schema = 'staging'
           and table_name in ('faq_sample_rows', 'faq_sample_bounds')""").fetchall()[0][0] == 2


def rebuild(con: duckdb.DuckDBPyConnection, max_tagged: int) -> None:
    """The state from the whole warehouse (staging.stg_interactions): one pass."""
    con.execute(
        f"""create or replace temp table _faq_counted as
            select sample, grp, question, a, b, count(*) as n
            from ({_ROWS_SQL.format(src='staging.stg_interactions')}) group by all"""
    )
    _bound_and_trim(con, max_tagged, "_faq_counted", fresh=True)
    con.execute("drop table _faq_counted")


def _bound_and_trim(con, max_tagged: int, source: str, fresh: bool) -> None:
    """Write staging.faq_sample_rows from ``source`` (sample, grp, question, a, b, n > 0), each group cut to its
    cap of distinct questions; a group cut gets (or lowers) its bound. ``fresh``: ``source`` holds every
    question (no bound yet)."""
    caps = _caps(max_tagged)
    con.execute(
        f"""create or replace temp table _faq_ranked as
            select sample, grp, question, dense_rank() over (partition by sample, grp order by {_KEY}) as k
            from (select distinct sample, grp, question from {source})"""
    )
    # groups over their cap: the new bound is the cap-th question's key
    con.execute(
        f"""create or replace temp table _faq_new_bounds as
            select sample, grp, hash(question) as bound_hash, question as bound_question
            from _faq_ranked where k = {caps}"""
    )
    con.execute(
        f"""create or replace table staging.faq_sample_rows as
            select s.sample, s.grp, s.question, s.a, s.b, s.n from {source} as s
            join _faq_ranked as r using (sample, grp, question)
            where r.k <= {caps.replace("sample", "s.sample")}
            order by s.sample, s.grp, s.question"""
    )
    if fresh:
        con.execute("create or replace table staging.faq_sample_bounds as select * from _faq_new_bounds")
    else:
        con.execute(
            """create or replace table staging.faq_sample_bounds as
               select * from _faq_new_bounds
               union all select * from staging.faq_sample_bounds as o
               where not exists (select 1 from _faq_new_bounds as x where x.sample = o.sample and x.grp = o.grp)"""
        )
    con.execute("drop table _faq_ranked")
    con.execute("drop table _faq_new_bounds")


def update(con: duckdb.DuckDBPyConnection, max_tagged: int, after: str, before: str) -> bool:
    """Apply a refresh's change: + the rows of ``after`` (the scope's interactions now), − those of ``before``
    (the same interactions as the fact table held them). Returns False, changing nothing, when the state cannot
    give an exact sample any more (a bounded group below its need, or a count below zero): rebuild then."""
    con.execute(
        f"""create or replace temp table _faq_delta as
            select sample, grp, question, a, b, sum(d) as n from (
                select *, 1 as d from ({_ROWS_SQL.format(src=after)})
                union all select *, -1 as d from ({_ROWS_SQL.format(src=before)}))
            group by all having sum(d) <> 0"""
    )
    con.execute(
        f"""create or replace temp table _faq_merged as
            select sample, grp, question, a, b, sum(n) as n from (
                select sample, grp, question, a, b, n from staging.faq_sample_rows
                union all
                select r.sample, r.grp, r.question, r.a, r.b, r.n from _faq_delta as r
                left join staging.faq_sample_bounds as bd using (sample, grp)
                where {_IN_BOUND})
            group by all having sum(n) <> 0"""
    )
    con.execute("drop table _faq_delta")
    negative = con.execute("select count(*) from _faq_merged where n < 0").fetchall()[0][0]
    short = con.execute(
        f"""select count(*) from staging.faq_sample_bounds as bd
            where (select count(distinct question) from _faq_merged as m
                   where m.sample = bd.sample and m.grp = bd.grp)
                  < (case bd.sample when 'tagged' then {max_tagged} else {CORPUS_SIZE} end)"""
    ).fetchall()[0][0]
    if negative or short:
        log.info("FAQ samples rebuilt from the warehouse (%s negative counts, %s groups below their need)",
                 negative, short)
        con.execute("drop table _faq_merged")
        return False
    _bound_and_trim(con, max_tagged, "_faq_merged", fresh=False)
    con.execute("drop table _faq_merged")
    return True
