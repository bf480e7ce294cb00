"""Memory: the marts stay within DuckDB's memory limit (it spills to disk beyond it).

A regression check, not a timed test: a model whose operator cannot spill fails with DuckDB's out-of-memory
error under a small limit however long it is given. ``marts.response_time_buckets`` used an ASOF join to
find each duration's bucket; DuckDB's ASOF join holds its whole sorted probe side in memory, and a 2M-interaction
load failed at the default 768 MB limit (docs/BENCHMARKS.md). With that join this test fails (out of memory at
64 MB on 1M fact rows, in every run tried); the range join that replaced it streams.
"""

from __future__ import annotations

import duckdb

from csqa.pipeline.model import marts

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


def test_out_of_memory_is_a_warehouse_error_naming_the_setting(tmp_path):
    """However small the limit, running out of it is exit 4 with one message that names warehouse.memory_limit,
    never an internal error with a traceback (it was exit 1 when it happened while staging or migrating)."""
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import SAMPLE

    for limit in ("1MB", "4MB"):  # 1 MB: while creating the tables; 4 MB: while staging the batch
        cfg = tmp_path / f"{limit}.toml"
        cfg.write_text(f'[warehouse]\nmemory_limit = "{limit}"\n', encoding="utf-8")
        db = tmp_path / limit / "csqa.duckdb"
        r = subprocess.run([sys.executable, "-m", "csqa.pipeline.cli", "load", str(SAMPLE), "--db", str(db),
                            "--config", str(cfg), "--json"], capture_output=True, text=True, timeout=300,
                           env=os.environ)
        assert r.returncode == 4, (limit, r.stderr[-2000:])
        assert "Traceback" not in r.stderr
        err = json.loads(r.stdout.strip().splitlines()[-1])
        assert err["exit_code"] == 4
        assert f"warehouse.memory_limit = '{limit}'" in err["error"], err["error"]


def test_cross_file_checks_read_only_the_rows_the_batch_names(tmp_path):
    """The survey check (survey sent before its interaction was created) looks up the interactions the staged
    surveys name, not a group-by over every stored interaction: that ran out of memory loading a 100k batch into
    a 10M warehouse. Here: 2M stored interactions, one staged survey, a 16 MB limit (out of memory before)."""
    import pandas as pd

    from csqa.pipeline.ingest import load as L
    from csqa.pipeline.ingest.stage import Stage
    from csqa.pipeline.model.warehouse import migrate

    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    try:
        con.execute("set timezone = 'UTC'")
        migrate(con)
        stage = Stage(con, tmp_path / "stage")
        con.execute(
            """insert into raw.interactions (interaction_id, channel, created_at, status, priority, customer_id,
                   language, handled_by_bot, reopen_count, updated_at, _batch_id, _source_file, _row_number)
               select 'I-' || i, 'email', timestamptz '2026-01-01' + to_seconds(i), 'open', 'normal', 'c' || i, 'en',
                      false, 0, timestamptz '2026-01-01' + to_seconds(i), 1, 'x.csv', i
               from range(2000000) as r(i)""")
        day = pd.Timestamp("2025-12-31", tz="UTC")
        stage.append("csat_surveys", 1, pd.DataFrame({"survey_id": ["S1"], "interaction_id": ["I-5"], "sent_at": [day],
                                                      "updated_at": [day], "_row_number": [7], "_file_seq": [1]}))
        con.execute("set threads = 2")
        con.execute("set memory_limit = '16MB'")
        L._cross_entity_checks(con, stage, {}, {})
        con.execute("set memory_limit = '1GB'")
        assert con.execute("select check_name, row_number from stage_quarantine").fetchall() == [
            ("survey_not_before_creation", 7)]
        assert con.execute("select count(*) from stage_csat_surveys").fetchall() == [(0,)]
    finally:
        con.close()
