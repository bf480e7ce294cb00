"""Memory: the marts stay within DuckDB's memory limit (it spills to disk beyond it).

A regression check, not a timed test: a model whose operator cannot spill fails with DuckDB's out-of-memory
error under a small limit however long it is given. ``marts.response_time_buckets`` used an ASOF join to
find each duration's bucket; DuckDB's ASOF join holds its whole sorted probe side in memory, and a 2M-interaction
load failed at the default 768 MB limit (docs/BENCHMARKS.md). With that join this test fails (out of memory at
64 MB on 1M fact rows, in every run tried); the range join that replaced it streams.
"""

from __future__ import annotations

import duckdb

from csqa.pipeline import marts

N = 1_000_000


def _fact_table(con: duckdb.DuckDBPyConnection, n: int) -> None:
    """A fact table with the columns the duration rollups read, n rows over a year and four channels, with
    durations spread over every bucket and some missing (no reply, unresolved)."""
    con.execute("create schema if not exists marts; create schema if not exists staging")
    con.execute(
        f"""create table marts.fct_interactions as
            select 'I' || i as interaction_id,
                   date '2026-01-01' + (i % 365)::int as created_day,
                   ['web_chat', 'email', 'phone', 'ticket'][1 + (i % 4)::int] as channel,
                   case when i % 10 <> 0 then (hash(i) % 3000000)::double end as first_response_seconds,
                   case when i % 10 <> 0 then (hash(i + 1) % 3000000)::double end as first_response_business_seconds,
                   case when i % 3 <> 0 then (hash(i + 2) % 5000000)::double end as resolution_seconds,
                   case when i % 3 <> 0 then (hash(i + 3) % 5000000)::double end as resolution_business_seconds,
                   repeat('a customer question ', 4) as first_message
            from range({n}) as r(i)"""
    )
    con.execute("create table staging.refresh_days as select distinct created_day as day from marts.fct_interactions")


def test_response_time_buckets_within_a_small_memory_limit(tmp_path, config):
    con = duckdb.connect(str(tmp_path / "m.duckdb"))
    try:
        _fact_table(con, N)
        marts._write_config_tables(con, config)  # staging.duration_buckets, as a refresh writes it
        sql = next(s for name, _, _, s in marts.mart_models() if name == "response_time_buckets")
        con.execute("set threads = 2")
        con.execute("set memory_limit = '64MB'")
        con.execute(f"create table marts.response_time_buckets as {sql}")
        con.execute("set memory_limit = '1GB'")
        # every non-null duration lands in exactly one bucket
        got = dict(con.execute(
            "select metric || '/' || basis, sum(count_interactions) from marts.response_time_buckets group by 1"
        ).fetchall())
        want = dict(con.execute(
            """select 'first_response/calendar', count(first_response_seconds) from marts.fct_interactions
               union all select 'first_response/business', count(first_response_business_seconds)
               from marts.fct_interactions
               union all select 'resolution/calendar', count(resolution_seconds) from marts.fct_interactions
               union all select 'resolution/business', count(resolution_business_seconds) from marts.fct_interactions"""
        ).fetchall())
        assert got == want
        # and in the right one: the bucket's upper edge is the first edge above the duration
        wrong = con.execute(
            """select count(*) from (
                   select f.created_day, f.channel, b.upper_seconds, count(*) as n
                   from marts.fct_interactions as f, staging.duration_buckets as b
                   where f.first_response_seconds >= b.lower_seconds and f.first_response_seconds < b.upper_seconds
                   group by all) as e
               full join (select * from marts.response_time_buckets
                          where metric = 'first_response' and basis = 'calendar') as r
                 on r.created_day = e.created_day and r.channel = e.channel
                    and r.bucket_upper_seconds = e.upper_seconds
               where r.count_interactions is distinct from e.n"""
        ).fetchall()[0][0]
        assert wrong == 0
    finally:
        con.close()
