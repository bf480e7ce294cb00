"""The csqa command line, run as a real process: exit codes, JSON summaries, messages."""

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import INTERACTION_HEADER, SAMPLE, interaction_row, query, write


def csqa(*args, env=None, cwd=None):
    e = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "csqa.pipeline.cli", *map(str, args)], capture_output=True,
                          text=True, env=e, cwd=cwd, timeout=300)


def test_help_lists_commands_and_exit_codes():
    r = csqa("--help")
    assert r.returncode == 0
    for word in ("generate", "load", "status", "check", "faq-gaps", "dashboard", "exit codes", "input rejected"):
        assert word in r.stdout
    for cmd in ("generate", "load", "status", "check", "faq-gaps", "dashboard"):
        assert csqa(cmd, "--help").returncode == 0


def test_load_sample_data_then_status(tmp_path):
    db = tmp_path / "w.duckdb"
    r = csqa("load", SAMPLE, "--db", db, "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["files_loaded"] == 5 and summary["files_rejected"] == 0
    assert summary["rows_quarantined"] > 0  # sample_data/dirty holds the faults
    assert summary["rows_read"] == summary["rows_loaded"] + summary["rows_quarantined"] + summary["rows_duplicate"]
    st = csqa("status", "--db", db)
    assert st.returncode == 0
    assert "raw.interactions" in st.stdout and "quarantined rows by check" in st.stdout
    # the list is cut to the largest ten, and says so with the whole count (it did not: 10 of 12 shown silently)
    checks = query(db, "select count(*), sum(n) from (select count(*) n from audit.quarantine group by "
                       "entity, column_name, check_name)")[0]
    assert checks[0] > 10
    assert f"(the 10 largest of {checks[0]} checks; {checks[1]:,} rows in all" in st.stdout
    again = json.loads(csqa("load", SAMPLE, "--db", db, "--json").stdout)
    assert again["files_skipped"] == 5 and again["rows_loaded"] == 0
    again = csqa("load", SAMPLE, "--db", db).stdout.splitlines()  # as a person reads it: no "batch None"
    assert again[-1].startswith("no batch written: 0 rows loaded,") and "5 skipped" in again[-1]


def test_db_from_environment(tmp_path):
    db = tmp_path / "env.duckdb"
    r = csqa("load", SAMPLE / "faq_articles.csv", env={"CSQA_DB": str(db)})
    assert r.returncode == 0, r.stderr
    assert db.exists()


def test_exit_2_on_usage_and_config_errors(tmp_path):
    assert csqa("load").returncode == 2
    assert csqa("frobnicate").returncode == 2
    r = csqa("load", tmp_path / "missing", "--db", tmp_path / "w.duckdb")
    assert r.returncode == 2 and "no such file or folder" in r.stderr
    cfg = write(tmp_path / "bad.toml", "[warehouse]\npaht = 'x'\n")
    r = csqa("load", SAMPLE, "--config", cfg, "--db", tmp_path / "w.duckdb")
    assert r.returncode == 2 and "warehouse.paht: unknown key" in r.stderr
    assert "Traceback" not in r.stderr


def test_exit_3_when_a_file_is_rejected(tmp_path):
    write(tmp_path / "in" / "interactions.csv", "a,b\n1,2\n")
    (tmp_path / "in" / "faq_articles.csv").write_bytes((SAMPLE / "faq_articles.csv").read_bytes())
    r = csqa("load", tmp_path / "in", "--db", tmp_path / "w.duckdb", "--json")
    assert r.returncode == 3
    s = json.loads(r.stdout)
    assert s["files_rejected"] == 1 and s["files_loaded"] == 1
    assert "Traceback" not in r.stderr


def test_exit_4_when_the_warehouse_is_locked_or_not_a_database(tmp_path):
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))  # another process... holding the write lock
    try:
        r = csqa("load", SAMPLE / "faq_articles.csv", "--db", db)
    finally:
        con.close()
    assert r.returncode == 4, r.stderr
    assert "Traceback" not in r.stderr
    bogus = write(tmp_path / "bogus.duckdb", "not a database")
    r = csqa("load", SAMPLE / "faq_articles.csv", "--db", bogus)
    assert r.returncode == 4 and "Traceback" not in r.stderr
    r = csqa("status", "--db", tmp_path / "none.duckdb")
    assert r.returncode == 4 and "load data first" in r.stderr


def test_generate_is_deterministic(tmp_path):
    for name in ("a", "b"):
        r = csqa("generate", "--out", tmp_path / name, "--interactions", 500, "--seed", 3, "--days", 10)
        assert r.returncode == 0, r.stderr
    for f in (tmp_path / "a").iterdir():
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes(), f.name
    assert csqa("generate", "--out", tmp_path / "c", "--dirty-rate", 2).returncode == 2


@pytest.mark.parametrize("cmd", ["load", "status", "check"])
def test_json_error_line(tmp_path, cmd):
    args = [cmd, "--db", tmp_path / "none.duckdb", "--json"]
    if cmd == "load":
        args.insert(1, tmp_path / "missing")
    r = csqa(*args)
    assert r.returncode in (2, 4)
    assert json.loads(r.stdout)["exit_code"] == r.returncode


def test_sample_data_is_what_the_generator_makes(tmp_path):
    """sample_data/ is reproducible: regenerate it with the documented command and compare."""
    r = csqa("generate", "--out", tmp_path / "s", "--interactions", 8000, "--days", 56, "--seed", 7)
    assert r.returncode == 0
    for f in (tmp_path / "s").iterdir():
        assert f.read_bytes() == (SAMPLE / f.name).read_bytes(), f.name
    assert Path(SAMPLE / "dirty" / "interactions_dirty_export.csv").exists()


def test_dirty_parquet_generation_loads_like_dirty_csv(tmp_path):
    """Issue 13: --format parquet --dirty-rate failed (ArrowInvalid on reopen_count); the same faults must be
    caught from either format."""
    quarantined = {}
    for fmt in ("csv", "parquet"):
        r = csqa("generate", "--out", tmp_path / fmt, "--interactions", 1500, "--days", 21, "--seed", 3,
                 "--dirty-rate", 0.05, "--format", fmt)
        assert r.returncode == 0, r.stderr
        r = csqa("load", tmp_path / fmt, "--db", tmp_path / f"{fmt}.duckdb", "--json")
        assert r.returncode == 0, r.stderr
        s = json.loads(r.stdout)
        assert s["rows_quarantined"] > 0 and s["files_rejected"] == 0
        quarantined[fmt] = {f["entity"]: (f["rows_read"], f["rows_quarantined"], f["rows_duplicate"])
                            for f in s["files"]}
    assert quarantined["csv"] == quarantined["parquet"]


def test_two_generated_sets_load_into_one_warehouse_without_losing_a_message(tmp_path):
    """Issue 13: message ids repeated across seeds, so a second set lost its messages as 'duplicates'."""
    db = tmp_path / "w.duckdb"
    total = 0
    for seed in (1, 2):
        r = csqa("generate", "--out", tmp_path / str(seed), "--interactions", 800, "--days", 14, "--seed", seed,
                 "--json")
        total += json.loads(r.stdout)["files"]["messages.csv"]
        r = csqa("load", tmp_path / str(seed), "--db", db, "--json")
        assert r.returncode == 0, r.stderr
        msgs = next(f for f in json.loads(r.stdout)["files"] if f["entity"] == "messages")
        assert msgs["rows_duplicate"] == 0 and msgs["rows_loaded"] == msgs["rows_read"]
    assert query(db, "select count(*) from raw.messages")[0][0] == total


def test_check_on_a_warehouse_with_no_batch_yet_says_so_in_one_line(tmp_path):
    """A warehouse made by a first run stopped before its batch was written holds no marts: every data test used
    to print DuckDB's catalog error (about 60 lines, each blaming "an older csqa")."""
    from csqa.pipeline.model.warehouse import open_warehouse

    db = tmp_path / "w.duckdb"
    open_warehouse(db).close()
    r = csqa("check", "--db", db)
    assert r.returncode == 4 and r.stdout == "" and "Traceback" not in r.stderr
    assert r.stderr.startswith("csqa: There is nothing to check yet.\n") and r.stderr.count("\n") == 2
    r = csqa("faq-gaps", "--db", db)
    assert r.returncode == 4 and "no FAQ gap mart" in r.stderr and r.stderr.count("\n") == 2


def test_check_exits_5_for_a_failed_test_even_when_another_could_not_run(tmp_path):
    """A data test that cannot run (a table the warehouse does not hold) is exit 4 alone; beside a failed one, the
    failure is the graver news: exit 5, and the message names both."""
    db = tmp_path / "w.duckdb"
    write(tmp_path / "in" / "interactions.csv", "\n".join([INTERACTION_HEADER, interaction_row("I1")]) + "\n")
    assert csqa("load", tmp_path / "in", "--db", db).returncode == 0
    con = duckdb.connect(str(db))
    con.execute("drop table marts.interaction_lookup")
    con.close()
    r = csqa("check", "--db", db)
    assert r.returncode == 4 and "error interaction_lookup_matches_fact" in r.stdout and "Traceback" not in r.stderr
    assert "1 data test(s) could not run (interaction_lookup_matches_fact)" in r.stderr
    con = duckdb.connect(str(db))
    con.execute("insert into marts.fct_interactions select * from marts.fct_interactions")  # a duplicate id
    con.close()
    r = csqa("check", "--db", db, "--json")
    out, err = (json.loads(line) for line in r.stdout.splitlines())  # the results, then the error's line
    assert r.returncode == 5 and out["errors"] == 1 and out["failed"] >= 1 and err["exit_code"] == 5
    assert "fct_interactions_unique" in err["error"]
    assert "could not run (interaction_lookup_matches_fact)" in err["error"]
    assert "Traceback" not in r.stderr


def test_a_load_under_another_configuration_says_every_mart_was_rebuilt(tmp_path):
    """A load run from another folder reads another csqa.toml, or none: the refresh rebuilds every mart with it (a
    reporting zone of UTC instead of the warehouse's). The load says so, and names the configuration it read."""
    db = tmp_path / "data" / "csqa.duckdb"
    own, elsewhere = tmp_path / "srv", tmp_path / "elsewhere"
    write(own / "csqa.toml", '[warehouse]\nreporting_timezone = "Asia/Shanghai"\n')
    elsewhere.mkdir()
    for day in (1, 2, 3):
        write(tmp_path / f"d{day}" / "interactions.csv",
              "\n".join([INTERACTION_HEADER, interaction_row(f"I{day}")]) + "\n")
    first = csqa("load", tmp_path / "d1", "--db", db, cwd=own)
    assert first.returncode == 0 and "note:" not in first.stderr, first.stderr
    same = csqa("load", tmp_path / "d2", "--db", db, cwd=own)
    assert same.returncode == 0 and "note:" not in same.stderr, same.stderr
    other = csqa("load", tmp_path / "d3", "--db", db, "--json", cwd=elsewhere)
    assert json.loads(other.stdout.splitlines()[-1])["marts_scope"]["rebuilt"] == "configuration or SQL changed"
    back = csqa("load", tmp_path / "d1", "--db", db, "--force", cwd=own)
    assert "note: every mart was rebuilt with this run's configuration" in back.stderr
    assert str((own / "csqa.toml").resolve()) in back.stderr
    write(tmp_path / "d4" / "interactions.csv", "\n".join([INTERACTION_HEADER, interaction_row("I4")]) + "\n")
    defaults = csqa("load", tmp_path / "d4", "--db", db, cwd=elsewhere)
    assert f"csqa's defaults: no csqa.toml in {elsewhere}" in defaults.stderr, defaults.stderr


def test_a_rejected_file_is_reported_once(tmp_path):
    """The file's line on stdout said why; a log line on stderr said it again (a new user's review)."""
    write(tmp_path / "in" / "interactions.csv", "a;b\n1;2\n")
    r = csqa("load", tmp_path / "in", "--db", tmp_path / "w.duckdb")
    assert r.returncode == 3 and "Traceback" not in r.stderr
    assert (r.stdout + r.stderr).count("required column(s) missing") == 1 and r.stdout.startswith("rejected ")
