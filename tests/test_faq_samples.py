"""The FAQ model's samples kept between refreshes equal a full recompute (pipeline/model/faq_samples.py).

Small caps (a corpus of 40 questions, 5 tagged questions per topic) so the sample data's 737 questions make every
group bounded: the kept state holds twice the need, so loads, upserts and bounds being lowered and exhausted
are all exercised by a few thousand interactions."""

import duckdb
import pandas as pd
import pytest

from csqa.pipeline.ingest.load import load
from csqa.pipeline.model import faq_samples, marts
from tests.conftest import SAMPLE

FAQ_COLUMNS = "interaction_id, faq_article_id, faq_match_score, is_faq_matched, topic, topic_source"


@pytest.fixture
def small_caps(config, monkeypatch):
    monkeypatch.setattr(faq_samples, "CORPUS_SIZE", 40)
    return config.model_copy(update={"faq": config.faq.model_copy(update={"max_tagged_per_topic": 5})})


def samples(db, kept: bool, max_tagged: int = 5):
    tagged, corpus = marts.faq_sample_queries(kept)
    con = duckdb.connect(str(db), read_only=True)
    try:
        return (con.execute(tagged, [max_tagged]).fetchall(), con.execute(corpus).fetchall())
    finally:
        con.close()


def asking(db, questions) -> set[str]:
    """The interactions whose (redacted) question is one of ``questions``."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0] for r in con.execute(
            "select interaction_id from raw.interactions where coalesce(first_message, subject) in "
            "(select unnest(?))", [sorted(questions)]).fetchall()}
    finally:
        con.close()


def kept_equals_recomputed(db):
    kept, full = samples(db, kept=True), samples(db, kept=False)
    assert len(kept[1]) == 40 and len(kept[0]) > 5 * 5
    assert kept == full


def test_kept_samples_equal_a_full_recompute_after_loads_and_upserts(tmp_path, small_caps):
    config = small_caps
    inter = pd.read_csv(SAMPLE / "interactions.csv", dtype=str, keep_default_na=False)
    parts = tmp_path / "parts"
    parts.mkdir()
    inter.iloc[:4000].to_csv(parts / "i1.csv", index=False)
    inter.iloc[4000:].to_csv(parts / "i2.csv", index=False)
    inc = tmp_path / "inc.duckdb"
    s = load([parts / "i1.csv", SAMPLE / "faq_articles.csv"], inc, config)
    assert s.marts["full"] and s.marts["faq_samples"] == "rebuilt"
    kept_equals_recomputed(inc)
    s = load([parts / "i2.csv"], inc, config)
    assert not s.marts["full"] and s.marts["faq_samples"] == "updated"
    kept_equals_recomputed(inc)
    con = duckdb.connect(str(inc), read_only=True)
    try:
        # staging.faq_matches holds the scope's matches; the scope's staging views are their SQL's again (the
        # refresh read the scope's raw rows once into a temporary table), usable by a later session
        assert con.execute("select count(*) from staging.faq_matches").fetchall()[0][0] == s.marts["interactions"]
        view = con.execute("select sql from duckdb_views() where view_name = 'raw_interactions_in_scope'").fetchall()
        assert "raw.interactions" in view[0][0]
        assert con.execute("select count(*) from staging.stg_questions_in_scope").fetchall()[0][0] \
            == s.marts["interactions"]
    finally:
        con.close()

    # an upsert that changes sampled questions: every interaction asking 10 of the corpus sample's questions
    # gets a new question (so those questions leave the warehouse), and tagged ones change topic or lose it
    (_, corpus) = samples(inc, kept=True)
    gone = {q for q, _ in corpus[::4]}
    changed = inter[inter.interaction_id.isin(asking(inc, gone))].copy()
    assert len(changed) >= 10
    changed["first_message"] = [f"question rewritten number {i}" for i in range(len(changed))]
    changed["topic"] = ["kyc" if i % 3 else "" for i in range(len(changed))]
    changed["updated_at"] = "2026-11-25T00:00:00Z"
    changed.to_csv(parts / "i3.csv", index=False)
    s = load([parts / "i3.csv"], inc, config)
    assert not s.marts["full"] and s.marts["faq_samples"] == "updated"
    kept_equals_recomputed(inc)
    assert not gone & {q for q, _ in samples(inc, kept=True)[1]}

    # the same data built in one go: the same samples, so the same model, so the interactions the upsert
    # changed are scored exactly as a full rebuild scores them
    final = pd.concat([inter[~inter.interaction_id.isin(changed.interaction_id)], changed])
    final.to_csv(parts / "final.csv", index=False)
    whole = tmp_path / "whole.duckdb"
    load([parts / "final.csv", SAMPLE / "faq_articles.csv"], whole, config)
    assert samples(whole, kept=True) == samples(inc, kept=True) == samples(whole, kept=False)
    ids = ", ".join(f"'{i}'" for i in changed.interaction_id)
    sql = f"select {FAQ_COLUMNS} from marts.fct_interactions where interaction_id in ({ids}) order by all"
    a, b = (duckdb.connect(str(d), read_only=True) for d in (inc, whole))
    try:
        got = a.execute(sql).fetchall()
        assert len(got) == len(changed) and got == b.execute(sql).fetchall()
    finally:
        a.close()
        b.close()


def test_a_group_emptied_below_its_need_is_rebuilt_from_the_warehouse(tmp_path, small_caps):
    """Rewrite every question the kept corpus state holds: the bounded corpus group has no question left
    below its bound, so the state is rebuilt from the whole warehouse, and still equals a full recompute."""
    config = small_caps
    db = tmp_path / "w.duckdb"
    load([SAMPLE / "interactions.csv", SAMPLE / "faq_articles.csv"], db, config)
    con = duckdb.connect(str(db), read_only=True)
    held = {r[0] for r in con.execute("select question from staging.faq_sample_rows where sample = 'corpus'")
            .fetchall()}
    assert con.execute("select count(*) from staging.faq_sample_bounds where sample = 'corpus'").fetchall()[0][0] == 1
    con.close()
    inter = pd.read_csv(SAMPLE / "interactions.csv", dtype=str, keep_default_na=False)
    changed = inter[inter.interaction_id.isin(asking(db, held))].copy()
    changed["first_message"] = "zz one question for all of them"
    changed["updated_at"] = "2026-11-25T00:00:00Z"
    changed.to_csv(tmp_path / "upsert.csv", index=False)
    s = load([tmp_path / "upsert.csv"], db, config)
    assert not s.marts["full"] and s.marts["faq_samples"] == "rebuilt"
    kept_equals_recomputed(db)
