"""Clusters of the questions the matcher is unsure about, judged as gaps before they are reported.

Input: the questions of the last ``faq.window_days`` that have no topic (nobody tagged them and the model's
score stayed below the bar). Per FAQ language, the distinct questions (the most frequent
``max_texts``) are grouped by k-means over the joint embedding + lexical vectors of ``text.Featurizer``
(k ≈ distinct questions ÷ ``texts_per_cluster``, at most 200); clusters whose centres are nearly the same
(similarity ≥ ``merge_similarity``) are merged. Each cluster gets:

- ``cohesion``: the mean similarity between two of its distinct questions (the squared norm of the mean of
  their unit vectors): 1 when all say the same thing, near 0 for a grab bag;
- ``nearest_article_id`` / ``nearest_topic`` / ``nearest_similarity``: the covered example (an article piece,
  or a question agents tagged with a topic that has an article) with the highest mean similarity to the
  cluster's questions;
- ``is_gap``: at least ``min_size`` questions, cohesion ≥ ``min_cohesion`` and nearest similarity below
  ``max_article_similarity``. Only these become ``unmatched_cluster`` gaps;
- ``rank_factor`` = cohesion × max(0.1, 1 − mean faq_match_score of its questions ÷ the language's bar): a
  grab bag, or a group of questions that almost reached an article, is demoted in ``marts.faq_gaps``.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans, MiniBatchKMeans

from .model import FaqModel, faq_language
from .text import Featurizer, clean

_WORD_RE = re.compile(r"[a-z][a-z0-9']{2,}")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]+")
STOPWORDS = set(
    "the and for you your with have has not but can how what why when does did this that from are was were "
    "will would could should been into about after before there their they them then than just still "
    "please help need want know get got any all out our ours its it's i'm don't can't".split()
)
ZH_STOP = set(
    "怎么 什么 是什 为什 么时 么冻 请问 一直 可以 已经 还是 还没 没有 是不 不是 我的 时候 一下 多久 因是 原因".split()
)
CLUSTER_COLUMNS = ["cluster_id", "language", "count_questions", "count_last_7d", "count_prev_7d", "trend_ratio",
                   "title_terms", "example_1", "example_2", "example_3", "cohesion", "nearest_article_id",
                   "nearest_topic", "nearest_similarity", "mean_match_score", "rank_factor", "is_gap"]


def title_terms(texts: list[str], background: Counter, k: int = 5) -> list[str]:
    """Readable terms that stand out in a cluster: English words and Chinese character bigrams."""
    counts: Counter = Counter()
    for t in texts:
        counts.update(w for w in set(_WORD_RE.findall(t.lower())) if w not in STOPWORDS)
        for run in _CJK_RE.findall(t):
            counts.update({run[i:i + 2] for i in range(len(run) - 1)} - ZH_STOP)
    total_bg = sum(background.values()) or 1
    scored = [
        (n * np.log((1 + total_bg) / (1 + background.get(term, 0))), term)
        for term, n in counts.items() if n >= max(2, len(texts) // 5)
    ]
    return [term for _, term in sorted(scored, reverse=True)[:k]]


def _background(texts: list[str]) -> Counter:
    bg: Counter = Counter()
    for t in texts:
        bg.update(set(_WORD_RE.findall(t.lower())))
        for run in _CJK_RE.findall(t):
            bg.update({run[i:i + 2] for i in range(len(run) - 1)})
    return bg


def _merge(centres: np.ndarray, labels: np.ndarray, bar: float) -> np.ndarray:
    """Union of clusters whose unit centres have similarity ≥ bar; labels renumbered 0..m-1."""
    k = len(centres)
    parent = list(range(k))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    sims = centres @ centres.T
    for i, j in zip(*np.nonzero(np.triu(sims >= bar, 1)), strict=True):
        parent[find(i)] = find(j)
    roots = np.array([find(i) for i in range(k)])
    _, new = np.unique(roots, return_inverse=True)
    return new[labels]


def cluster_questions(df: pd.DataFrame, *, as_of: pd.Timestamp, model: FaqModel | None = None, min_size: int = 5,
                      min_cohesion: float = 0.35, max_article_similarity: float = 0.6,
                      merge_similarity: float = 0.7, texts_per_cluster: int = 12, max_texts: int = 20_000,
                      bar: dict[str, float] | float = 0.1, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cluster the questions without a topic.

    df: interaction_id, question, language, created_at (UTC), optionally faq_match_score. ``bar``: the match bar
    (per FAQ language, or one for all). Returns (clusters, members): clusters with
    ``CLUSTER_COLUMNS`` (every cluster of at least ``min_size`` questions, ``is_gap`` saying which are
    reported); members: interaction_id, cluster_id.
    """
    empty = (pd.DataFrame(columns=CLUSTER_COLUMNS), pd.DataFrame(columns=["interaction_id", "cluster_id"]))
    if df.empty:
        return empty
    df = df.assign(text=df.question.map(clean))
    df = df[df.text.str.len() > 0]
    shown = df.drop_duplicates("text").set_index("text").question  # examples keep their placeholders
    bg = _background(df.text.drop_duplicates().tolist())
    covered_refs = None
    if model is not None:
        keep = np.isin(model.classes[model.ref_topic], list(model.covered_topics))
        covered_refs = np.flatnonzero(keep)
    clusters, members = [], []
    for lang, part in df.groupby(df.language.map(faq_language), sort=True):
        counts = part.text.value_counts()
        freq = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")  # ties by text
        uniq = freq.index[:max_texts].tolist()
        if len(part) < min_size or not uniq:
            continue
        fz = model.featurizer if model is not None else Featurizer.fit(uniq)
        f = fz.transform(uniq)
        x = fz.joint(f)
        k = int(min(max(1, round(len(uniq) / texts_per_cluster)), 200, len(uniq)))
        algo = KMeans(n_clusters=k, random_state=seed, n_init=1) if len(uniq) <= 5000 else \
            MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=2048)
        labels = algo.fit(x).labels_ if k > 1 else np.zeros(len(uniq), dtype=int)
        xd = x.toarray()
        centres = np.vstack([xd[labels == c].mean(axis=0) for c in range(labels.max() + 1)])
        units = centres / np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-9)
        labels = _merge(units, labels, merge_similarity)
        label_of = dict(zip(uniq, labels, strict=True))
        part = part[part.text.isin(label_of)]
        part = part.assign(label=part.text.map(label_of))
        recent = part.created_at >= as_of - pd.Timedelta(days=7)
        previous = (part.created_at < as_of - pd.Timedelta(days=7)) & (part.created_at >= as_of - pd.Timedelta(days=14))
        sizes = part.groupby("label").size().sort_index()
        order = sizes.sort_values(ascending=False, kind="stable").index  # cluster ids by size, then label
        for rank, label in enumerate(order):
            rows = part[part.label == label]
            if len(rows) < min_size:
                continue
            idx = np.flatnonzero(labels == label)
            mean = xd[idx].mean(axis=0)
            cohesion = float(np.clip(mean @ mean, 0, 1)) if len(idx) > 1 else 1.0
            unit = mean / max(float(np.linalg.norm(mean)), 1e-9)
            dist = xd[idx] @ unit
            near_art, near_topic, near_sim = None, None, 0.0
            if covered_refs is not None and len(covered_refs):
                sims = fz.similarity(f.take(idx), model.ref_features.take(covered_refs)).mean(axis=0)
                j = int(sims.argmax())
                near_sim = float(sims[j])
                ref = covered_refs[j]
                near_topic = str(model.classes[model.ref_topic[ref]])
                near_art = model.ref_article[ref] or model.article_of.get((near_topic, lang)) or next(
                    (a for (t, _), a in sorted(model.article_of.items()) if t == near_topic), None)
            cid = f"{lang}-{rank + 1:02d}"
            texts_here = [uniq[i] for i in idx[np.lexsort((-freq.loc[[uniq[i] for i in idx]].to_numpy(), -dist))]]
            examples = ([shown[t] for t in texts_here] + [None, None, None])[:3]
            last7, prev7 = int(recent[rows.index].sum()), int(previous[rows.index].sum())
            is_gap = cohesion >= min_cohesion and near_sim < max_article_similarity
            mean_score = float(rows.faq_match_score.fillna(0).mean()) if "faq_match_score" in rows else 0.0
            lang_bar = bar.get(lang, bar.get("", 0.1)) if isinstance(bar, dict) else bar
            unanswered = max(0.1, 1 - mean_score / lang_bar) if lang_bar > 0 else 1.0
            rank_factor = cohesion * unanswered
            clusters.append((cid, lang, len(rows), last7, prev7, round((last7 + 1) / (prev7 + 1), 3),
                             ", ".join(title_terms(rows.text.tolist(), bg)), *examples, round(cohesion, 4),
                             near_art, near_topic, round(near_sim, 4), round(mean_score, 4),
                             round(rank_factor, 4), is_gap))
            members.extend((iid, cid) for iid in rows.interaction_id)
    if not clusters:
        return empty
    return (pd.DataFrame(clusters, columns=CLUSTER_COLUMNS),
            pd.DataFrame(members, columns=["interaction_id", "cluster_id"]))
