"""Issue 17: one obvious way in for analysts that never blocks a load, in the reporting time zone, with counts
that stay integers. Real warehouses, real processes."""

import json
import os
import shutil
import subprocess
import sys

import duckdb
import pytest

from csqa.pipeline import connect
from csqa.pipeline.config import load_config
from csqa.pipeline.ingest.load import load
from csqa.pipeline.ops.snapshots import reader_path
from tests.conftest import SAMPLE, write

SHANGHAI = '[warehouse]\nreporting_timezone = "Asia/Shanghai"\n'


def csqa(*args, env=None, timeout=300, **kw):
    return subprocess.run([sys.executable, "-m", "csqa.pipeline.cli", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout, **kw)


@pytest.fixture(scope="module")
def shanghai(tmp_path_factory):
    """The sample loaded with the reporting zone Asia/Shanghai (8 hours from UTC: days differ for a third of rows)."""
    home = tmp_path_factory.mktemp("an")
    cfg = write(home / "csqa.toml", SHANGHAI)
    db = home / "wh" / "csqa.duckdb"
    mp = pytest.MonkeyPatch()
    mp.setenv("CSQA_PSEUDONYM_KEY", "an")
    load([SAMPLE / "interactions.csv", SAMPLE / "messages.csv", SAMPLE / "csat_surveys.csv",
          SAMPLE / "faq_articles.csv"], db,
         load_config(cfg))
    mp.undo()
    return db, cfg


def test_print_path_names_a_stable_path_to_the_newest_snapshot(tmp_path, config):
    db = tmp_path / "wh" / "c.duckdb"
    load([SAMPLE / "faq_articles.csv"], db, config)
    r = csqa("sql", "--print-path", "--db", db)
    assert r.returncode == 0, r.stderr
    path = r.stdout.strip()
    assert path.endswith("snapshots/c.latest.duckdb")
    con = duckdb.connect(path, read_only=True)
    try:
        assert con.execute("select count(*) from raw.interactions").fetchall() == [(0,)]
    finally:
        con.close()
    load([SAMPLE / "interactions.csv"], db, config)
    assert csqa("sql", "--print-path", "--db", db).stdout.strip() == path  # the same path ...
    con = duckdb.connect(path, read_only=True)
    try:  # ... now showing the newer load
        assert con.execute("select count(*) from raw.interactions").fetchall() == [(8000,)]
    finally:
        con.close()


def test_a_connection_opened_the_documented_way_never_blocks_the_nightly(tmp_path, config):
    db = tmp_path / "wh" / "c.duckdb"
    load([SAMPLE / "faq_articles.csv"], db, config)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for f in ("interactions.csv", "csat_surveys.csv"):
        shutil.copyfile(SAMPLE / f, inbox / f)
    stable = csqa("sql", "--print-path", "--db", db).stdout.strip()
    # another notebook, with plain DuckDB on the printed path, holding its connection open meanwhile
    notebook = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb; c = duckdb.connect({stable!r}, read_only=True); "
         "q = 'select count(*) from raw.faq_articles'; print(c.execute(q).fetchall()[0][0], flush=True); "
         "input(); print(c.execute(q).fetchall()[0][0], flush=True)"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        n_faq = int(notebook.stdout.readline())
        with connect(db) as con:  # from csqa.pipeline import connect
            assert con.sql("select count(*) from marts.fct_interactions").fetchall() == [(0,)]
            r = csqa("nightly", "--inbox", inbox, "--db", db)  # runs while both sessions are open
            assert r.returncode == 0, r.stderr
            assert json.loads(r.stdout)["status"] == "ok"
            # the open sessions keep their consistent view and still answer
            assert con.sql("select count(*) from marts.fct_interactions").fetchall() == [(0,)]
        out, _ = notebook.communicate("\n", timeout=60)
        assert notebook.returncode == 0 and int(out) == n_faq > 0
    finally:
        if notebook.poll() is None:
            notebook.kill()
            notebook.wait()
    with connect(db) as con:  # a new session sees the new load
        assert con.sql("select count(*) from marts.fct_interactions").fetchall() == [(8000,)]


def test_sessions_run_in_the_reporting_time_zone(shanghai):
    db, _ = shanghai
    with connect(db) as con:
        assert con.sql("select current_setting('TimeZone')").fetchall() == [("Asia/Shanghai",)]
        # a timestamp's date is the reporting day, as the *_day columns count it
        differ_utc = con.sql("select count(*) from marts.fct_interactions "
                             "where (created_at at time zone 'UTC')::date <> created_day").fetchall()[0][0]
        assert differ_utc > 1000  # the zone matters on this data ...
        assert con.sql("select count(*) from marts.fct_interactions "
                       "where created_at::date <> created_day").fetchall() == [(0,)]  # ... and the session has it
    r = csqa("sql", "select current_setting('TimeZone') as tz, count(*) filter (where created_at::date <> "
                    "created_day) as n from marts.fct_interactions", "--db", db, "--csv")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["tz,n", "Asia/Shanghai,0"]


def test_counts_stay_integers_through_csv_and_df(shanghai):
    db, _ = shanghai
    q = ("select channel, count(*) as n, sum(count_messages) as messages, "
         "sum(case when csat_score >= 4 then 1 end) as satisfied from marts.fct_interactions group by 1 order by 1")
    with connect(db) as con:
        df = con.sql(q).df()
        assert {str(df[c].dtype) for c in ("n", "messages", "satisfied")} <= {"int64", "Int64"}
        again = con.execute(q).df()
        assert again.equals(df)
    r = csqa("sql", q, "--db", db, "--csv")
    assert r.returncode == 0, r.stderr
    body = r.stdout.splitlines()[1:]
    assert body and not any(".0" in line.split(",", 1)[1] for line in body)
    assert sum(int(line.split(",")[1]) for line in body) == 8000


def test_the_helper_is_locked_down_like_csql(shanghai, tmp_path):
    db, _ = shanghai
    with connect(db) as con:
        with pytest.raises(duckdb.Error):
            con.sql("select * from read_text('/etc/passwd')")
        with pytest.raises(duckdb.Error):
            con.sql("set timezone = 'UTC'")
        assert con.path == reader_path(db)


def test_the_table_view_says_how_to_see_hidden_columns(shanghai):
    db, _ = shanghai
    wide = csqa("sql", "select * from marts.fct_interactions limit 3", "--db", db)
    assert wide.returncode == 0
    assert "columns: those that do not fit the table view are hidden" in wide.stderr and "--csv" in wide.stderr
    narrow = csqa("sql", "select channel, count(*) as n from marts.fct_interactions group by 1", "--db", db)
    assert narrow.returncode == 0 and "hidden" not in narrow.stderr


def test_sql_readme_documents_every_marts_table_and_column(shanghai):
    """sql/README.md's marts section against the warehouse: a table or column on one side only fails."""
    import re

    from tests.conftest import ROOT

    db, _ = shanghai
    text = (ROOT / "sql" / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### marts"):text.index("## Worked queries")]
    documented: dict[str, list[str]] = {}
    for block in re.split(r"^#### ", section, flags=re.M)[1:]:
        table = re.match(r"`marts\.(\w+)`", block).group(1)
        documented[table] = re.findall(r"^\| `(\w+)` \|", block, flags=re.M)
    with connect(db) as con:
        actual = {t: list(cols) for t, cols in con.sql(
            "select table_name, list(column_name order by column_index) from duckdb_columns() "
            "where schema_name = 'marts' group by 1").fetchall()}
    assert sorted(documented) == sorted(actual)
    for table, cols in actual.items():
        assert documented[table] == cols, table  # every column, in the warehouse's order


def test_agent_daily_reopen_and_one_touch_columns(shanghai):
    """marts.agent_daily's reopen and one-touch counts are the METRICS.md definitions applied to the fact table,
    per agent and day, and their rates are real rates."""
    db, _ = shanghai
    with connect(db) as con:
        mart = con.sql("select agent_id, created_day, count_interactions, count_one_touch, count_one_touch_eligible, "
                       "count_reopened, count_reopen_eligible from marts.agent_daily order by all").fetchall()
        fact = con.sql(
            """select agent_id, created_day, count(*),
                      count(*) filter (where is_one_touch),
                      count(*) filter (where is_resolved and count_messages is not null),
                      count(*) filter (where reopen_count > 0),
                      count(*) filter (where is_resolved or reopen_count > 0)
               from marts.fct_interactions where agent_id is not null group by all order by all""").fetchall()
        totals = con.sql("select sum(count_one_touch), sum(count_one_touch_eligible), sum(count_reopened), "
                         "sum(count_reopen_eligible) from marts.agent_daily").fetchall()[0]
    assert mart == fact
    one, one_n, re_, re_n = totals
    assert 0 < one < one_n and 0 < re_ < re_n  # both rates are neither 0 nor 1 on the sample


def test_the_notebook_example_answers_the_eight_questions(shanghai, tmp_path):
    """docs/examples/analyst_notebook.py, run as written against a warehouse: every answer has rows, and its CSV
    exports (pandas and COPY into the export folder) keep counts integer."""
    from tests.conftest import ROOT

    db, _ = shanghai
    exports = tmp_path / "exports"
    exports.mkdir()
    r = subprocess.run([sys.executable, str(ROOT / "docs" / "examples" / "analyst_notebook.py"), str(exports)],
                       capture_output=True, text=True, timeout=300, env={**os.environ, "CSQA_DB": str(db)})
    assert r.returncode == 0, r.stderr
    for name in ("medians", "sla", "worst", "weekly_csat", "no_article", "agents", "backlog", "deflection"):
        assert f"## {name} (" in r.stdout and f"## {name} (0 rows)" not in r.stdout, name
    lines = (exports / "weekly_csat.csv").read_text().splitlines()
    assert lines[0] == "week,rated,satisfied_share,low,high"
    assert all(line.split(",")[1].isdigit() for line in lines[1:])
    assert (exports / "sla_compliance.csv").read_text().startswith("created_day,channel,priority,")
