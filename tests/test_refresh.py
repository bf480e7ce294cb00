"""``csqa refresh``: every mart rebuilt from the stored rows in one transaction, then published (OPERATIONS.md)."""

from __future__ import annotations

import fcntl
import json

import duckdb
import pandas as pd
import pytest

from csqa.pipeline.config import load_config
from csqa.pipeline.ingest.load import load
from csqa.pipeline.model.marts import mart_models
from csqa.pipeline.ops import refresh
from csqa.pipeline.ops.nightly import run_nightly
from csqa.pipeline.ops.refresh import rebuild
from csqa.pipeline.ops.snapshots import reader_path
from tests.conftest import INTERACTION_HEADER, SAMPLE, interaction_row, query, write
from tests.test_cli import csqa
from tests.test_marts import _rounded

FAQ_COLUMNS = "interaction_id, topic, topic_source, faq_article_id, faq_match_score, is_faq_matched"


def test_a_refresh_makes_a_nightly_warehouse_equal_to_a_rebuild_from_the_archive(tmp_path, config):
    """Nightly deliveries score only their batch's questions, with that night's FAQ model, so their FAQ columns (and
    the marts counted by topic) differ from a rebuild's, which scores every question with one model. After
    `csqa refresh` every mart equals the rebuild's."""
    parts = tmp_path / "parts"
    parts.mkdir()
    inter = pd.read_csv(SAMPLE / "interactions.csv", dtype=str, keep_default_na=False)
    third = len(inter) // 3
    for i, rows in enumerate((inter.iloc[:third], inter.iloc[third:2 * third], inter.iloc[2 * third:]), start=1):
        rows.to_csv(parts / f"interactions_{i}.csv", index=False)
    nightly, whole = tmp_path / "nightly.duckdb", tmp_path / "whole.duckdb"
    load([parts / "interactions_1.csv", SAMPLE / "faq_articles.csv"], nightly, config)
    assert not load([parts / "interactions_2.csv", SAMPLE / "messages.csv"], nightly, config).marts["full"]
    assert not load([parts / "interactions_3.csv", SAMPLE / "csat_surveys.csv"], nightly, config).marts["full"]
    load([*(parts / f"interactions_{i}.csv" for i in (1, 2, 3)), SAMPLE / "messages.csv",
          SAMPLE / "csat_surveys.csv", SAMPLE / "faq_articles.csv"], whole, config)
    faq = f"select {FAQ_COLUMNS} from marts.fct_interactions order by interaction_id"
    assert _rounded(query(nightly, faq)) != _rounded(query(whole, faq))  # the drift the refresh is for

    info = rebuild(nightly, config)
    assert info["rebuilt"] == "requested" and info["interactions"] == len(inter) and info["snapshot"]
    for name, *_ in mart_models():
        a = query(nightly, f"select * from marts.{name} order by all")
        b = query(whole, f"select * from marts.{name} order by all")
        assert _rounded(a) == _rounded(b), name
    # readers see it: the published snapshot holds the rebuilt marts
    con = duckdb.connect(str(reader_path(nightly)), read_only=True)
    try:
        assert _rounded(con.execute(faq).fetchall()) == _rounded(query(whole, faq))
    finally:
        con.close()


def test_csqa_refresh_applies_a_changed_configuration_without_new_data(tmp_path):
    """A tighter first-reply target in csqa.toml is seen at once: the refresh rebuilds the marts under it, says the
    configuration changed, and publishes; the load before it is not repeated."""
    db = tmp_path / "data" / "csqa.duckdb"
    srv = tmp_path / "srv"
    srv.mkdir()
    write(tmp_path / "in" / "interactions.csv", "\n".join([INTERACTION_HEADER, interaction_row("I1")]) + "\n")
    assert csqa("load", tmp_path / "in", "--db", db, cwd=srv).returncode == 0  # a reply after 2 min: met in 3
    sla = "select first_response_target_seconds, first_response_sla_status from marts.fct_interactions"
    assert query(db, sla) == [(180.0, "met")]
    write(srv / "csqa.toml", '[channels.web_chat]\nlabel = "Web chat"\nschedule = "always"\n'
                             "first_response_minutes = 1\nresolution_hours = 24\n")
    r = csqa("refresh", "--db", db, cwd=srv)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("rebuilt every mart from 1 interactions") and str(srv / "csqa.toml") in r.stdout
    assert f"note: the configuration ({srv / 'csqa.toml'}), or csqa's SQL, differs" in r.stderr
    con = duckdb.connect(str(reader_path(db)), read_only=True)
    try:
        assert con.execute(sla).fetchall() == [(60.0, "breached")]
    finally:
        con.close()
    assert query(db, "select count(*) from audit.load_batches") == [(1,)]
    with db.with_name("csqa.duckdb.lock").open("a+") as fh:  # a load or nightly running: exit 6, nothing changed
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        locked = csqa("refresh", "--db", db, "--json")
    assert locked.returncode == 6 and "Traceback" not in locked.stderr
    again = csqa("refresh", "--db", db, "--json", cwd=srv)
    line = json.loads(again.stdout.strip().splitlines()[-1])
    assert again.returncode == 0 and line["rebuilt"] == "requested" and line["config"] == str(srv / "csqa.toml")
    assert "note:" not in again.stderr


def test_csqa_refresh_without_a_warehouse_or_a_batch_exits_with_a_clear_message(tmp_path):
    r = csqa("refresh", "--db", tmp_path / "none.duckdb")  # as every command that reads one says it
    assert r.returncode == 4 and r.stderr.startswith("csqa: There is no warehouse yet.\n"), r.stderr
    assert not (tmp_path / "none.duckdb").exists()
    foreign = tmp_path / "foreign.duckdb"  # another program's DuckDB file: refused, and left as it was
    con = duckdb.connect(str(foreign))
    con.execute("create table t (a integer)")
    con.close()
    before = foreign.read_bytes()
    for target in (tmp_path / "empty.duckdb", foreign):
        if not target.exists():
            duckdb.connect(str(target)).close()
        r = csqa("refresh", "--db", target)
        assert r.returncode == 4 and "There is nothing to refresh yet." in r.stderr and "Traceback" not in r.stderr
        r = csqa("status", "--db", target)  # (it printed a traceback)
        assert r.returncode == 4 and "There is nothing to show yet." in r.stderr and "Traceback" not in r.stderr
    assert foreign.read_bytes() == before and not foreign.with_name("foreign.duckdb.lock").exists()
    r = csqa("refresh", "--db", tmp_path)  # a folder
    assert r.returncode == 2 and "is a folder" in r.stderr


def test_a_nightly_with_an_empty_inbox_publishes_a_refresh_killed_before_its_publish(tmp_path, config, monkeypatch):
    """A refresh writes no batch, so the batch id cannot tell that the published snapshot predates it: the refresh's
    row in audit.mart_refreshes does. A refresh stopped between its commit and its publish is published by the next
    nightly even when the inbox is empty, and only once."""
    db = tmp_path / "data" / "csqa.duckdb"
    write(tmp_path / "in" / "interactions.csv", "\n".join([INTERACTION_HEADER, interaction_row("I1")]) + "\n")
    load([tmp_path / "in" / "interactions.csv"], db, config)
    write(tmp_path / "csqa.toml", '[channels.web_chat]\nlabel = "Web chat"\nschedule = "always"\n'
                                  "first_response_minutes = 1\nresolution_hours = 24\n")
    tighter = load_config(tmp_path / "csqa.toml")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # as a kill between the refresh's commit and its publish leaves it

    monkeypatch.setattr(refresh, "publish", killed)
    with pytest.raises(KeyboardInterrupt):
        rebuild(db, tighter)
    monkeypatch.undo()
    sla = "select first_response_target_seconds, first_response_sla_status from marts.fct_interactions"

    def readers_see():
        con = duckdb.connect(str(reader_path(db)), read_only=True)
        try:
            return con.execute(sla).fetchall()
        finally:
            con.close()

    assert query(db, sla) == [(60.0, "breached")] and readers_see() == [(180.0, "met")]  # committed, not published
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    code, summary = run_nightly(inbox, db, tighter)
    assert code == 0 and summary["status"] == "nothing_to_do" and summary["snapshot"]
    assert readers_see() == [(60.0, "breached")]
    code, summary = run_nightly(inbox, db, tighter)
    assert code == 0 and summary["snapshot"] == ""  # published once, not every night
    assert query(db, "select batch_id, rebuilt from audit.mart_refreshes") == [(1, "configuration or SQL changed")]
