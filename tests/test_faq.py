"""FAQ matching, gap typing, translation gaps, clusters and before/after on hand-made cases."""

import datetime as dt
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from csqa.pipeline.config import load_config
from csqa.pipeline.faq import FaqModel, cluster_questions, score_pairs
from csqa.pipeline.ingest.load import load
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
    qs = ["My withdrawal has been pending review for hours [EMAIL]", "提现一直显示审核中,什么时候能到?",
          "How long does identity verification take for my passport?", "", "What are the API rate limits?"]
    langs = ["en", "zh-CN", "en", "en", "en"]
    m = FaqModel.fit(ARTICLES, corpus=qs).predict(qs, langs, 0.1)
    assert m.faq_article_id[0] == "A1" and m.is_faq_matched[0]
    assert m.faq_article_id[1] == "A2" and m.is_faq_matched[1]  # the Chinese article for a Chinese question
    assert m.faq_article_id[2] == "A3" and m.is_faq_matched[2]
    assert not m.is_faq_matched[3] and pd.isna(m.faq_article_id[3]) and pd.isna(m.faq_match_score[3])
    assert not m.is_faq_matched[4]  # no article on the API: the score stays far below the matched ones
    assert m.faq_match_score[4] < 0.2 * min(m.faq_match_score[:3])


def test_per_language_bar():
    model = FaqModel.fit(ARTICLES)
    score = model.predict(["提现审核要多久"], ["zh-CN"], 0.0).faq_match_score[0]
    assert not model.predict(["提现审核要多久"], ["zh-CN"], score + 0.01).is_faq_matched[0]
    assert model.predict(["提现审核要多久"], ["zh-CN"], np.array([score])).is_faq_matched[0]
    assert FaqModel.fit(ARTICLES.iloc[:0]) is None  # no catalogue and no tags: nothing to learn from


def test_embeddings_load_offline_without_touching_the_network(monkeypatch):
    """WordLlama's weights and tokenizer come from its own wheel; any connection attempt fails the test."""
    import socket

    from csqa.pipeline.faq import text

    def refuse(*_a, **_k):
        raise AssertionError("the FAQ model tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # not relied upon
    text._load_embedder.cache_clear()
    e = text.embed(["where is my card", "my card has not arrived yet", "what is the fee for trading futures"])
    assert e.shape == (3, text.EMBED_DIM)
    assert np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    assert e[0] @ e[1] > e[0] @ e[2]  # meaning, not just letters


def test_tags_teach_topics_the_catalogue_does_not_cover():
    """Agents tag 'staking' questions; no article covers staking. Untagged look-alikes get the topic, no article."""
    tagged = pd.DataFrame({"question": ["my staking rewards were not paid", "staking reward missing this week",
                                        "when are staking rewards distributed", "I did not receive staking interest"],
                           "topic": "staking"})
    qs = ["where are my staking rewards for this week", "My withdrawal is pending review"]
    m = FaqModel.fit(ARTICLES, tagged, corpus=qs).predict(qs, ["en", "en"], 0.1)
    assert m.faq_topic[0] == "staking" and m.is_topic_confident[0]
    assert not m.is_faq_matched[0] and pd.isna(m.faq_article_id[0])  # a known topic, but a gap
    assert m.faq_topic[1] == "withdrawal" and m.is_faq_matched[1]


def test_score_pairs_ranks_paraphrases_above_other_questions():
    q = ["提现一直在审核中", "提现一直在审核中", "How do I reset my 2FA?", "How do I reset my 2FA?"]
    a = ["提现审核要多久才能到账", "如何开通合约交易", "I lost my authenticator app, how to reset two-factor",
         "How to deposit USDT on TRON"]
    s = score_pairs(q, a)
    assert s.shape == (4,) and ((s >= 0) & (s <= 1)).all()
    assert s[0] > s[1] and s[2] > s[3]
    with pytest.raises(ValueError, match="same length"):
        score_pairs(["a"], [])


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
    assert staking.cohesion > 0.5 and staking.is_gap  # no catalogue: nothing is near an article


def test_clusters_near_an_article_or_incoherent_are_not_gaps():
    """Three groups of questions nobody tagged: one about withdrawals (an article answers it), one about
    staking (nothing does), one grab bag of unrelated questions."""
    as_of = pd.Timestamp("2026-11-24T00:00:00Z")
    groups = {
        "w": ["my withdrawal is pending review", "withdrawal pending review for hours", "why is my withdrawal "
              "still pending review", "withdrawal review pending since yesterday", "pending withdrawal review"],
        "s": ["staking rewards not paid", "my staking rewards are missing", "staking rewards were not paid",
              "where are my staking rewards", "staking rewards missing again"],
        "g": ["is the app available in Brazil", "can I change my nickname", "what is the leverage on futures",
              "how do I contact the press team", "does the exchange sponsor football"],
    }
    rows = [(f"{g}{i}", q, "en", as_of) for g, qs in groups.items() for i, q in enumerate(qs)]
    df = pd.DataFrame(rows, columns=["interaction_id", "question", "language", "created_at"])
    model = FaqModel.fit(ARTICLES, corpus=df.question.tolist())
    clusters, members = cluster_questions(df, as_of=as_of, model=model, min_size=3, texts_per_cluster=3,
                                          min_cohesion=0.4, max_article_similarity=0.3, merge_similarity=0.6)
    of = members.set_index("interaction_id").cluster_id
    c = clusters.set_index("cluster_id")
    assert len({of[f"s{i}"] for i in range(5)}) == 1  # near-duplicate clusters merged
    assert c.loc[of["s0"]].is_gap and c.loc[of["s0"]].cohesion >= 0.4
    w = c.loc[of["w0"]]
    assert not w.is_gap and w.nearest_article_id == "A1" and w.nearest_similarity >= 0.3
    grab_bag = {of[f"g{i}"] for i in range(5) if f"g{i}" in of} - {of["s0"], of["w0"]}
    assert grab_bag and not any(c.loc[g].is_gap for g in grab_bag)  # incoherent: not reported
    assert all(c.loc[g].cohesion < 0.4 for g in grab_bag)


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
    for lang in ("ko", "ja"):  # the same question in English, from customers of other languages
        add(f"p-{lang}", "p2p", lang, "The P2P seller did not release my coins")
    add("p-appeal", "p2p", "en", "How long does a P2P appeal take?")
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
    assert kinds[("no_article", "p2p", None)] == 8
    assert kinds[("missing_translation", "kyc", "zh-CN")] == 3
    assert kinds[("article_not_deflecting", "kyc", "en")] == 4
    assert kinds[("unmatched_cluster", "cluster", "en")] == 4
    assert not any(k[1] == "withdrawal" for k in kinds)  # covered and fine: no gap
    assert [g[0] for g in gaps].count("no_article") == 1
    ranks = query(gap_db, "select priority_rank from marts.faq_gaps order by priority_rank")
    assert [r[0] for r in ranks] == list(range(1, len(gaps) + 1))
    ex = query(gap_db, "select example_questions from marts.faq_gaps where gap_type = 'no_article'")[0][0]
    assert ex == ["The P2P seller did not release my coins", "How long does a P2P appeal take?"]  # each once


def test_coverage_matrix(gap_db):
    cov = {(r[0], r[1]): r[2:] for r in query(gap_db, """
        select topic, language, count_contacts, has_article_in_language, has_article_any_language, match_rate
        from marts.faq_coverage""")}
    assert cov[("withdrawal", "en")][:3] == (4, True, True)
    assert cov[("withdrawal", "en")][3] == 1.0  # all four matched the English article
    assert cov[("kyc", "zh-CN")][:3] == (3, False, True)
    assert cov[("p2p", "en")][:3] == (6, False, False)
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
    """An article published on Monday 2026-10-05: 10 contacts a week for 4 weeks before, 2 a week after (every
    time in the past: not_in_the_future)."""
    pub = dt.datetime(2026, 10, 5, tzinfo=dt.UTC)
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
          "K1,kyc,en,Verify,Upload your ID,published,2026-10-05T00:00:00Z,2026-10-05T00:00:00Z\n")
    db = tmp_path / "w.duckdb"
    load([tmp_path / "in"], db, config)
    weekly = query(db, "select week_offset, count_contacts, is_complete_week from marts.faq_deflection "
                       "order by week_offset")
    assert weekly == [(-4, 10, True), (-3, 10, True), (-2, 10, True), (-1, 10, True),
                      (0, 2, True), (1, 2, True), (2, 2, True), (3, 2, True)]
    s = query(db, "select mean_weekly_before, mean_weekly_after, change_rate, is_beyond_noise "
                  "from marts.faq_deflection_summary")[0]
    assert s == (10.0, 2.0, -0.8, True)


def test_deflection_does_not_count_the_weeks_before_an_export_starts_after_a_stray_old_ticket(tmp_path, config):
    """Data from two weeks before an article's publication on, and one stray ticket five months earlier (a new user's
    review, 2026-11-28): the weeks between were counted as complete weeks of no contacts, halving the mean before
    publication and making a false 'beyond noise'. A week in a hole of the data (14 days or more without a
    contact on the whole desk) is no complete week: the marts equal those without the stray ticket."""
    pub = dt.datetime(2026, 10, 5, tzinfo=dt.UTC)

    def stamp(t):
        return t.isoformat().replace("+00:00", "Z")

    rows = []
    for week in range(-2, 4):
        for k in range(3 if week < 0 else 1):  # 3 a day before, 1 after
            for day in range(7):  # every day of the week: the data has no hole of its own
                t = stamp(pub + dt.timedelta(weeks=week, days=day, hours=k))
                rows.append(interaction_row(f"w{week}_{day}_{k}", topic="kyc", message="", created=t, first=t,
                                            resolved=t))
    end = stamp(pub + dt.timedelta(weeks=4, hours=1))
    rows.append(interaction_row("tail", topic="deposit", created=end, first=end, resolved=end))
    old = stamp(pub - dt.timedelta(days=150))
    article = ("article_id,topic,language,title,body,status,published_at,updated_at\n"
               "K1,kyc,en,Verify,Upload your ID,published,2026-10-05T00:00:00Z,2026-10-05T00:00:00Z\n")
    marts = {}
    for name, extra in (("without", []), ("with", [interaction_row("stray", topic="deposit", created=old,
                                                                    first=old, resolved=old)])):
        write(tmp_path / name / "interactions.csv", INTERACTION_HEADER + "\n" + "\n".join(rows + extra) + "\n")
        write(tmp_path / name / "faq_articles.csv", article)
        db = tmp_path / f"{name}.duckdb"
        load([tmp_path / name], db, config)
        marts[name] = (
            query(db, "select week_offset, count_contacts, is_complete_week from marts.faq_deflection order by 1"),
            query(db, "select count_weeks_before, mean_weekly_before, mean_weekly_after, is_beyond_noise "
                      "from marts.faq_deflection_summary"))
    assert marts["with"] == marts["without"]
    assert marts["with"][0] == [(-4, 0, False), (-3, 0, False), (-2, 21, True), (-1, 21, True), (0, 7, True),
                                (1, 7, True), (2, 7, True), (3, 7, True)]
    assert marts["with"][1] == [(2, 21.0, 7.0, True)]


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


def test_parallel_prediction_equals_one_process(monkeypatch):
    from csqa.pipeline.faq import model as faq_model

    texts = [f"my withdrawal is pending review {i}" if i % 3 else f"how long does KYC take, case {i}"
             for i in range(60)] + ["", "提现审核要多久"]
    langs = ["en"] * 61 + ["zh-CN"]
    m = FaqModel.fit(ARTICLES, corpus=texts, corpus_languages=langs, pool_size=20)
    one = m._predict(texts, langs, 0.1)
    monkeypatch.setattr(faq_model, "PARALLEL_MIN", 10)
    pd.testing.assert_frame_equal(m.predict(texts, langs, 0.1), one)


def test_the_sample_datas_deliberate_gaps_come_out_on_top(tmp_path, config):
    """The generator leaves p2p and api without any article, futures without a Chinese one, and
    staking_rewards as an emerging topic agents rarely tag: these four lead the backlog."""
    from tests.conftest import SAMPLE

    db = tmp_path / "w.duckdb"
    load([SAMPLE], db, config)
    top = query(db, "select gap_type, topic, language from marts.faq_gaps order by priority_rank limit 4")
    assert {(t, g) for g, t, _ in top} == {("p2p", "no_article"), ("api", "no_article"),
                                           ("futures", "missing_translation"), ("staking_rewards", "no_article")}
    # staking questions nobody tagged are counted in through the model, not lost
    tagged, total = query(db, """select count(*) filter (where topic_source = 'agent'), count(*)
                                 from marts.fct_interactions where topic = 'staking_rewards'""")[0]
    assert total > 2 * tagged


def test_neighbours_are_the_nearest_pool_questions_whatever_the_block(monkeypatch):
    from csqa.pipeline.faq import model as faq_model

    texts = [f"my withdrawal is pending review {i}" if i % 3 else f"how long does KYC take, case {i}"
             for i in range(70)] + ["提现审核要多久", "reset my 2FA please"]
    langs = ["en"] * 70 + ["zh-CN", "en"]
    m = FaqModel.fit(ARTICLES, corpus=texts, corpus_languages=langs, pool_size=40)
    f = m.featurizer.transform([faq_model.clean(t) for t in texts])
    sims = m._project(f.emb) @ m.pool_emb.T
    blocks = {}
    monkeypatch.setattr(faq_model, "_MIN_BLAS_ROWS", 2)
    for block in (5, 71, 256, 4096):  # 5: 15 blocks, the last one of 2 rows; 71: the last one of 1 joins it
        monkeypatch.setattr(faq_model, "_NEIGHBOUR_BLOCK", block)
        blocks[block] = m._neighbours(f)
    for block in (5, 71, 4096):
        np.testing.assert_array_equal(blocks[block], blocks[256])
    near = blocks[256]
    assert near.shape == (len(texts), m.neighbours)
    # each row holds the k most similar pool questions: none left out is more similar than the least of them
    for row, idx in zip(sims, near, strict=True):
        assert len(set(idx)) == m.neighbours
        assert np.delete(row, idx).max() <= row[idx].min()


def test_a_question_scored_alone_gets_what_it_gets_in_a_batch():
    texts = [f"my withdrawal is pending review {i}" if i % 3 else f"how long does KYC take, case {i}"
             for i in range(40)] + ["提现审核要多久", "", "reset my 2FA please"]
    langs = ["en"] * 40 + ["zh-CN", "en", "en"]
    bars = np.linspace(0.05, 0.6, len(texts))  # a bar per question: confident or not depends on the row's own
    m = FaqModel.fit(ARTICLES, corpus=texts, corpus_languages=langs, pool_size=20)
    batch = m._predict(texts, langs, bars)

    def rows(frame):
        return [tuple(None if pd.isna(v) else v for v in r) for r in frame.itertuples(index=False)]

    for i in range(len(texts)):  # alone (padded to a batch's shape), and as the last of a short batch
        assert rows(m._predict([texts[i]], [langs[i]], bars[i:i + 1])) == rows(batch.iloc[[i]])
    assert rows(m._predict(texts[:3], langs[:3], bars[:3])) == rows(batch.iloc[:3])
    assert batch.is_topic_confident.any() and not batch.is_topic_confident.all()


def test_the_k_nearest_take_the_lower_index_on_a_tie():
    """The neighbour search's pick of each row's k largest similarities: exactly the k first by (value descending,
    index), whatever the ties (pool questions with one embedding tie exactly)."""
    from csqa.pipeline.faq.model import _top_k

    rng = np.random.default_rng(7)
    for k in (1, 3, 10):
        s = rng.choice(np.array([0.1, 0.5, 0.9005221, 0.9023114], dtype=np.float32), size=(300, 40))
        want = np.sort(np.array([sorted(range(40), key=lambda j, r=r: (-r[j], j))[:k] for r in s]), axis=1)
        assert np.array_equal(_top_k(s, k), want)
    assert _top_k(np.zeros((0, 40), dtype=np.float32), 3).shape == (0, 3)


def test_the_nearest_neighbours_do_not_follow_the_last_bits_of_the_product():
    """The neighbour search's similarities differ in their last bits with the batch a question is scored in (BLAS);
    those near a row's k-th are recomputed exactly, so the pick is the one the exact similarities give, duplicate
    pool rows (exact ties) included."""
    from csqa.pipeline.faq.model import _top_k, _top_k_exact

    rng = np.random.default_rng(3)
    pool = rng.normal(size=(200, 16))
    pool[100:150] = pool[:50]  # duplicates: exact ties
    pool /= np.linalg.norm(pool, axis=1, keepdims=True)
    rows = pool[rng.integers(0, 200, 64)] + rng.normal(scale=0.3, size=(64, 16))
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    exact = np.array([[np.dot(r, q) for q in pool] for r in rows]).astype(np.float32)
    for seed in range(5):  # the product's last bits, as another batch would give them
        noisy = exact + np.random.default_rng(seed).uniform(-3e-7, 3e-7, exact.shape).astype(np.float32)
        assert np.array_equal(_top_k_exact(noisy, 10, rows, pool), _top_k(exact, 10))
    assert not np.array_equal(_top_k(noisy, 10), _top_k(exact, 10))  # without the recomputation they differ
