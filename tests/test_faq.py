"""FAQ matching, gap typing, translation gaps, clusters and before/after on hand-made cases."""

import datetime as dt
import subprocess
import sys

import pandas as pd
import pytest

from csqa.pipeline.config import load_config
from csqa.pipeline.faq import FaqMatcher, cluster_questions, match_frame
from csqa.pipeline.load import load
from tests.conftest import INTERACTION_HEADER, interaction_row, query, write

ARTICLES = pd.DataFrame([
    ("A1", "withdrawal", "en", "How to withdraw", "Open the assets page and click Withdraw. Withdrawal review "
     "takes a few hours. Related questions: my withdrawal is pending review"),
    ("A2", "withdrawal", "zh-CN", "如何提现",
     "完成身份认证后,在资产页面点击提现。提现审核一般在数小时内完成。常见问题:提现一直显示审核中"),
    ("A3", "kyc", "en", "How to verify your identity", "Upload your passport or ID card. Identity verification "
     "takes 1-2 business days."),
], columns=["article_id", "topic", "language", "title", "body"])


def test_questions_match_the_right_article_in_each_language():
    q = pd.DataFrame({"interaction_id": ["1", "2", "3", "4", "5"], "question": [
        "My withdrawal has been pending review for hours [EMAIL]",
        "提现一直显示审核中,什么时候能到?",
        "How long does identity verification take for my passport?",
        "",
        "What are the API rate limits?",
    ], "faq_language": ["en", "zh-CN", "en", "en", "en"]})
    m = match_frame(q, FaqMatcher.fit(ARTICLES), 0.35, {"zh-CN": 0.2}).set_index("interaction_id")
    assert m.loc["1", "faq_article_id"] == "A1" and m.loc["1", "is_faq_matched"]
    assert m.loc["2", "faq_article_id"] == "A2" and m.loc["2", "is_faq_matched"]
    assert m.loc["3", "faq_article_id"] == "A3" and m.loc["3", "is_faq_matched"]
    assert not m.loc["4", "is_faq_matched"] and pd.isna(m.loc["4", "faq_article_id"])  # nothing to match
    assert not m.loc["5", "is_faq_matched"]  # no article on the API
    assert m.loc["5", "faq_match_score"] < m.loc["1", "faq_match_score"]


def test_per_language_threshold():
    q = pd.DataFrame({"interaction_id": ["z"], "question": ["提现审核要多久"], "faq_language": ["zh-CN"]})
    matcher = FaqMatcher.fit(ARTICLES)
    score = match_frame(q, matcher, 0.99).faq_match_score.iloc[0]
    assert not match_frame(q, matcher, score + 0.01).is_faq_matched.iloc[0]
    assert match_frame(q, matcher, 0.99, {"zh-CN": score}).is_faq_matched.iloc[0]
    assert not match_frame(q, None, 0.0).is_faq_matched.iloc[0]  # no catalogue, no match


def test_clusters_group_similar_questions_with_terms_and_trend():
    as_of = pd.Timestamp("2026-11-24T00:00:00Z")
    rows = []
    for i in range(12):
        rows.append((f"s{i}", f"My staking rewards were not paid this week {i}", "en",
                     as_of - pd.Timedelta(days=i % 3)))
    for i in range(6):
        rows.append((f"c{i}", f"The card delivery is late again, where is my card {i}", "en",
                     as_of - pd.Timedelta(days=8 + i % 3)))
    rows.append(("x", "hello", "en", as_of))
    df = pd.DataFrame(rows, columns=["interaction_id", "question", "language", "created_at"])
    clusters, members = cluster_questions(df, as_of=as_of, min_size=3)
    by_member = members.set_index("interaction_id").cluster_id
    assert len(set(by_member[[f"s{i}" for i in range(12)]])) == 1
    assert len(set(by_member[[f"c{i}" for i in range(6)]])) == 1
    assert by_member["s0"] != by_member["c0"]
    staking = clusters.set_index("cluster_id").loc[by_member["s0"]]
    assert staking.count_questions >= 12 and staking.count_last_7d >= 12 and staking.count_prev_7d == 0
    assert "staking" in staking.title_terms and "rewards" in staking.title_terms
    assert staking.trend_ratio > 1


CONFIG = """
[csat]
min_sample = 3
[faq]
min_cluster_size = 3
low_csat_margin = 0.2
match_threshold_by_language = { "zh-CN" = 0.2 }
"""


@pytest.fixture
def gap_db(tmp_path):
    cfg = load_config(write(tmp_path / "csqa.toml", CONFIG))
    arts = ("article_id,topic,language,title,body,status,published_at,updated_at\n"
            + "\n".join(f'{r.article_id},{r.topic},{r.language},"{r.title}","{r.body}",published,'
                        "2026-01-01T00:00:00Z,2026-01-01T00:00:00Z" for r in ARTICLES.itertuples()) + "\n")
    write(tmp_path / "in" / "faq_articles.csv", arts)
    rows, surveys = [], []
    base = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)

    def add(iid, topic, lang, msg, score=None):
        t = base.isoformat().replace("+00:00", "Z")
        rows.append(interaction_row(iid, topic=topic, language=lang, region="", message=msg, created=t,
                                    first=t, resolved=t))
        if score is not None:
            surveys.append(f"S{iid},{iid},{t},{t},{score},")

    for i in range(4):  # withdrawal in English: covered, customers happy
        add(f"we{i}", "withdrawal", "en", "My withdrawal is pending review", 5)
    for i in range(4):  # kyc in English: article exists but customers are unhappy
        add(f"ke{i}", "kyc", "en", "KYC takes forever", 1)
    for i in range(3):  # kyc in Chinese: only an English article exists
        add(f"kz{i}", "kyc", "zh-CN", "身份认证审核太慢", 5)
    for i in range(5):  # p2p: no article at all
        add(f"p{i}", "p2p", "en", "The P2P seller did not release my coins", 4)
    for i in range(4):  # nobody tagged these and no article matches
        add(f"u{i}", "", "en", f"My staking rewards were not paid this week {i}")
    write(tmp_path / "in" / "interactions.csv", INTERACTION_HEADER + "\n" + "\n".join(rows) + "\n")
    write(tmp_path / "in" / "csat.csv", "survey_id,interaction_id,sent_at,responded_at,score,comment\n"
          + "\n".join(surveys) + "\n")
    db = tmp_path / "w.duckdb"
    load([tmp_path / "in"], db, cfg)
    return db


def test_gap_types(gap_db):
    gaps = query(gap_db, "select gap_type, coalesce(topic, cluster_id), language, count_contacts "
                         "from marts.faq_gaps order by priority_rank")
    kinds = {(g[0], g[1] if g[0] != "unmatched_cluster" else "cluster", g[2]): g[3] for g in gaps}
    assert kinds[("no_article", "p2p", None)] == 5
    assert kinds[("missing_translation", "kyc", "zh-CN")] == 3
    assert kinds[("article_not_deflecting", "kyc", "en")] == 4
    assert kinds[("unmatched_cluster", "cluster", "en")] == 4
    assert not any(k[1] == "withdrawal" for k in kinds)  # covered and fine: no gap
    assert [g[0] for g in gaps].count("no_article") == 1
    ranks = query(gap_db, "select priority_rank from marts.faq_gaps order by priority_rank")
    assert [r[0] for r in ranks] == list(range(1, len(gaps) + 1))
    ex = query(gap_db, "select example_questions from marts.faq_gaps where gap_type = 'no_article'")[0][0]
    assert ex == ["The P2P seller did not release my coins"]


def test_coverage_matrix(gap_db):
    cov = {(r[0], r[1]): r[2:] for r in query(gap_db, """
        select topic, language, count_contacts, has_article_in_language, has_article_any_language, match_rate
        from marts.faq_coverage""")}
    assert cov[("withdrawal", "en")][:3] == (4, True, True)
    assert cov[("withdrawal", "en")][3] == 1.0  # all four matched the English article
    assert cov[("kyc", "zh-CN")][:3] == (3, False, True)
    assert cov[("p2p", "en")][:3] == (5, False, False)
    total = query(gap_db, "select sum(contact_share) from marts.faq_coverage")[0][0]
    assert total == pytest.approx(1.0)


def test_topic_from_agent_tag_wins_and_confident_match_fills_in(tmp_path):
    cfg = load_config(write(tmp_path / "c.toml", CONFIG))
    arts = ("article_id,topic,language,title,body,status,published_at,updated_at\n"
            'A1,withdrawal,en,"How to withdraw","Withdrawal review takes a few hours. my withdrawal is pending '
            'review",published,2026-01-01T00:00:00Z,2026-01-01T00:00:00Z\n')
    write(tmp_path / "in" / "faq_articles.csv", arts)
    write(tmp_path / "in" / "interactions.csv", "\n".join([
        INTERACTION_HEADER,
        interaction_row("tagged", topic="kyc", message="my withdrawal is pending review"),
        interaction_row("untagged", topic="", message="my withdrawal is pending review"),
        interaction_row("unknown", topic="", message="can I trade options on weekends"),
    ]) + "\n")
    db = tmp_path / "w.duckdb"
    load([tmp_path / "in"], db, cfg)
    got = {r[0]: r[1:] for r in query(db, "select interaction_id, topic, topic_source, is_faq_matched, "
                                          "faq_article_id from marts.fct_interactions")}
    assert got["tagged"] == ("kyc", "agent", True, "A1")
    assert got["untagged"] == ("withdrawal", "faq_match", True, "A1")
    assert got["unknown"][:3] == (None, None, False)


def test_deflection_before_and_after(tmp_path, config):
    """An article published on Monday 2026-11-02: 10 contacts a week for 4 weeks before, 2 a week after."""
    pub = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    rows = []
    for week in range(-4, 4):
        per_week = 10 if week < 0 else 2
        for k in range(per_week):
            t = (pub + dt.timedelta(weeks=week, hours=k)).isoformat().replace("+00:00", "Z")
            rows.append(interaction_row(f"w{week}_{k}", topic="kyc", message="", created=t, first=t, resolved=t))
    # one more contact on another topic a week after the window, so the last week is complete
    end = (pub + dt.timedelta(weeks=4, days=1)).isoformat().replace("+00:00", "Z")
    rows.append(interaction_row("tail", topic="deposit", created=end, first=end, resolved=end))
    write(tmp_path / "in" / "interactions.csv", INTERACTION_HEADER + "\n" + "\n".join(rows) + "\n")
    write(tmp_path / "in" / "faq_articles.csv", "article_id,topic,language,title,body,status,published_at,updated_at\n"
          "K1,kyc,en,Verify,Upload your ID,published,2026-11-02T00:00:00Z,2026-11-02T00:00:00Z\n")
    db = tmp_path / "w.duckdb"
    load([tmp_path / "in"], db, config)
    weekly = query(db, "select week_offset, count_contacts, is_complete_week from marts.faq_deflection "
                       "order by week_offset")
    assert weekly == [(-4, 10, True), (-3, 10, True), (-2, 10, True), (-1, 10, True),
                      (0, 2, True), (1, 2, True), (2, 2, True), (3, 2, True)]
    s = query(db, "select mean_weekly_before, mean_weekly_after, change_rate, is_beyond_noise "
                  "from marts.faq_deflection_summary")[0]
    assert s == (10.0, 2.0, -0.8, True)


def test_faq_gaps_command_exports_csv(gap_db, tmp_path):
    out = tmp_path / "gaps.csv"
    r = subprocess.run([sys.executable, "-m", "csqa.pipeline.cli", "faq-gaps", "--db", str(gap_db), "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(out)
    assert list(df.priority_rank) == list(range(1, len(df) + 1))
    assert {"no_article", "missing_translation", "article_not_deflecting", "unmatched_cluster"} <= set(df.gap_type)
    r = subprocess.run([sys.executable, "-m", "csqa.pipeline.cli", "faq-gaps", "--db", str(gap_db)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "no_article" in r.stdout
