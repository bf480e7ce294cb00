"""The FAQ model: which topic a question is about, whether a published article answers it, and how sure.

Fitted at every refresh (about a second) from two kinds of labelled text:

- **article pieces**: each published article's title, its topic name and each sentence or line of its
  body (an article's "related questions" are usually its best phrasings), labelled with its topic;
- **agents' tags**: distinct questions whose agent set a topic (up to ``max_tagged_per_topic`` per
  topic, a deterministic sample), labelled with that topic, whether or not the topic has an article.

A multinomial logistic regression over the embedding (``text.Featurizer``) gives ``P(topic | question)``
(a second one over the lexical features was measured: +0.01 top-1 warm, none cold, at 20× the fitting
time, so it was dropped). The predicted topic is the most probable one. A classifier always picks *some*
topic, so its probability is tempered by how close the question really is to that topic's examples,
then blended with the question's nearest neighbours (``predict``):

    faq_match_score = P(topic) × max(0, similarity to the nearest example of that topic)

A question **has a topic** when the score reaches its language's bar; it **is matched** to an article
when, in addition, the topic has a published article in the question's FAQ language. Below the bar the
matcher is unsure: the question stays without a topic and may join a cluster of unanswered questions.
A predicted topic that agents tag but no article covers is a gap of its own (``no_article``), with its
untagged look-alikes counted in.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import re
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from .text import Features, Featurizer, clean

_SPLIT_RE = re.compile(  # sentence ends (Chinese and Latin), line breaks, "related questions" headings
    r"(?<=[\u3002\uff01\uff1f\uff1b!?;])|[\r\n]+|(?<=[.?!])\s+|\u5e38\u89c1\u95ee\u9898[:\uff1a]|Related questions:",
    re.I)


PARALLEL_MIN = 40_000  # questions; below this one process is faster than starting workers
_NEIGHBOUR_BLOCK = 256  # questions whose nearest pool questions are searched at once
# the fewest rows a matrix product of questions has (a smaller batch is padded, a short last block joins the one
# before): BLAS multiplies fewer rows another way, with other last bits (docs/BENCHMARKS.md, "FAQ matching")
_MIN_BLAS_ROWS = 16
NEIGHBOUR_DIMS = 64


def _top_k(s: np.ndarray, k: int) -> np.ndarray:
    """The column indices of each row's ``k`` largest values, ties at the k-th value going to the lower index:
    argpartition's pick among equal values depends on the rest of the row (pool questions with one embedding tie
    exactly, and the two picks gave one sample question 0.6692 alone and 0.7066 among all; tests/test_faq_samples.py).
    Each row's indices in ascending order."""
    if not len(s):
        return np.empty((0, k), dtype=np.int64)
    kth = -np.partition(-s, k - 1, axis=1)[:, k - 1:k]
    greater = s > kth
    equal = s == kth
    need = k - greater.sum(axis=1, keepdims=True)
    chosen = greater | (equal & (np.cumsum(equal, axis=1) <= need))
    return np.nonzero(chosen)[1].reshape(len(s), k)


# the neighbour search's candidates beyond the k it keeps, and how close to a row's k-th largest similarity a value
# must be for the float32 product's last bits (~2e-7: they differ with the other rows of the product, BLAS) to
# matter
_EXTRA = 8
_NEAR_TIE = 1e-5
# a float32 dot product of unit vectors of NEIGHBOUR_DIMS dimensions is within (d + 2)·2^-24 of the exact value
# (3.9e-6 for 64): two of them, one each side of the k-th, stay within _NEAR_TIE
assert 2 * (NEIGHBOUR_DIMS + 2) * 2.0 ** -24 < _NEAR_TIE


def _top_k_exact(s: np.ndarray, k: int, rows: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """The k nearest of each row by the exact similarities, ``s`` being ``rows @ pool.T`` in float32 by BLAS: the
    k + ``_EXTRA`` largest of each row of ``s`` are computed again in float64, one pair at a time, read as float32
    (the same value whatever the batch, but at a float32 rounding edge), and the k largest of those are kept, a tie
    going to the lower index (``_top_k``). A row with more than ``_EXTRA`` values within ``_NEAR_TIE`` of its k-th
    could miss one: it is computed again whole. So a question scored alone (a nightly) picks the neighbours it picks
    among all (two pool questions with one embedding gave one sample question 0.6692 alone and 0.7066 among all;
    tests/test_faq_samples.py). Each row's indices in ascending order."""
    n, m = s.shape
    c = min(k + _EXTRA, m)
    if not n:
        return np.empty((0, k), dtype=np.int64)
    cand = np.argpartition(-s, c - 1, axis=1)[:, :c] if c < m else np.broadcast_to(np.arange(m), (n, m))
    exact = np.einsum("rcd,rd->rc", pool[cand], rows).astype(np.float32)
    order = np.lexsort((cand, -exact), axis=1)[:, :k]
    out = np.sort(np.take_along_axis(cand, order, axis=1), axis=1)
    if c < m:
        top = -np.sort(-np.take_along_axis(s, cand, axis=1), axis=1)
        for i in np.flatnonzero(top[:, k - 1] - top[:, c - 1] <= _NEAR_TIE):
            out[i] = _top_k(np.einsum("cd,d->c", pool, rows[i]).astype(np.float32)[None, :], k)[0]
    return out


def faq_language(tag: str | None) -> str:
    """The FAQ language key, as in SQL: zh-* keeps its region (the script differs), others the primary subtag."""
    tag = tag or ""
    return tag if tag.lower().startswith("zh") else tag.split("-", 1)[0]


def article_pieces(articles: pd.DataFrame) -> pd.DataFrame:
    """One row per piece of text an article offers: title, topic name, each sentence or line of the body."""
    rows = []
    for a in articles.itertuples(index=False):
        topic_name = str(a.topic).replace("_", " ")
        parts = [a.title or "", topic_name, f"{a.title or ''} {topic_name}"]
        parts += [p for p in _SPLIT_RE.split(str(a.body or "")) if p]
        seen = set()
        for p in parts:
            p = clean(p).strip(" ,\uff0c:\uff1a-")
            if len(p) >= 2 and p not in seen:
                seen.add(p)
                rows.append((a.article_id, a.topic, p))
    return pd.DataFrame(rows, columns=["article_id", "topic", "text"])


def _stable_rank(texts: pd.Series) -> np.ndarray:
    return np.array([int(hashlib.blake2b(t.encode(), digest_size=8).hexdigest(), 16) for t in texts], dtype=np.uint64)


@dataclass
class FaqModel:
    featurizer: Featurizer
    classes: np.ndarray  # topic names
    clf: LogisticRegression | None
    article_of: dict[tuple[str, str], str]  # (topic, FAQ language) -> article id
    ref_features: Features  # every labelled example: article pieces and tagged questions
    ref_topic: np.ndarray  # class index of each example
    ref_article: np.ndarray  # article id of a piece (None for a tagged question)
    covered_topics: set[str] = field(default_factory=set)
    pool_emb: np.ndarray | None = None  # neighbours: projected embeddings of a sample of the questions matched
    projection: np.ndarray | None = None  # 256 → NEIGHBOUR_DIMS, the pool's principal directions
    pool_p: np.ndarray | None = None  # ... their topic probabilities
    pool_score: np.ndarray | None = None  # ... and their own answered score (0 where no article answers)
    neighbours: int = 10
    own_weight: float = 0.5

    @classmethod
    def fit(cls, articles: pd.DataFrame, tagged: pd.DataFrame | None = None, *, corpus: list[str] | None = None,
            corpus_languages: list[str] | None = None, pool_size: int = 4000,
            lexical_weight: float = 0.5, lexical_weight_cjk: float = 0.7, c: float = 10.0,
            max_tagged_per_topic: int = 300) -> FaqModel | None:
        """articles: article_id, topic, language, title, body (published only); tagged: question, topic.
        corpus: the questions about to be matched (their words join the lexical vocabulary).
        None when there is nothing to learn from."""
        articles = articles.reset_index(drop=True)
        pieces = article_pieces(articles) if not articles.empty else pd.DataFrame(columns=["article_id", "topic",
                                                                                            "text"])
        tagged = tagged if tagged is not None else pd.DataFrame(columns=["question", "topic"])
        tagged = tagged.assign(question=tagged.question.map(clean)).query("question != ''")
        tagged = tagged.drop_duplicates(["question", "topic"])
        if len(tagged):
            tagged = tagged.assign(_r=_stable_rank(tagged.question)).sort_values(["topic", "_r"], kind="stable")
            tagged = tagged[tagged.groupby("topic").cumcount() < max_tagged_per_topic]
        texts = pieces.text.tolist() + tagged.question.tolist()
        labels = np.array(pieces.topic.tolist() + tagged.topic.tolist(), dtype=object)
        if not texts:
            return None
        featurizer = Featurizer.fit(texts + list(corpus or []), lexical_weight=lexical_weight,
                                    lexical_weight_cjk=lexical_weight_cjk)
        feats = featurizer.transform(texts)
        classes, y = np.unique(labels.astype(str), return_inverse=True)
        clf = None
        if len(classes) > 1:
            # one BLAS thread: the matrices are small, and threads fighting over two cores made fitting 50× slower
            with warnings.catch_warnings(), threadpool_limits(1):
                warnings.simplefilter("ignore")  # convergence chatter on tiny catalogues
                clf = LogisticRegression(C=c, max_iter=1000).fit(feats.emb, y)
        article_of = {}
        for a in articles.sort_values("article_id").itertuples(index=False):
            article_of.setdefault((str(a.topic), faq_language(a.language)), a.article_id)
        model = cls(featurizer, classes, clf, article_of, feats, y,
                    np.array(pieces.article_id.tolist() + [None] * len(tagged), dtype=object),
                    set(articles.topic.astype(str)))
        if corpus and pool_size > 0:
            langs = corpus_languages if corpus_languages is not None else [None] * len(corpus)
            pool = pd.DataFrame({"text": [clean(t) for t in corpus], "lang": langs}).query("text != ''")
            pool = pool.drop_duplicates("text").assign(_r=lambda d: _stable_rank(d.text))
            pool = pool.sort_values(["_r", "text"]).head(pool_size)
            f = featurizer.transform(pool.text.tolist())
            # neighbours are searched in the pool's 64 main directions: 4× fewer operations than in 256,
            # same figures on the tuning part (docs/FAQ.md)
            centred = f.emb - f.emb.mean(axis=0)
            with threadpool_limits(1):  # a small matrix: two BLAS threads on a busy machine took 10× longer
                vt = np.linalg.svd(centred, full_matrices=False)[2]
            model.projection = vt[:NEIGHBOUR_DIMS].T.astype(np.float32)
            model.pool_emb = model._project(f.emb)
            model.pool_p = model.probabilities(f)
            model.pool_score = model._scores(f, model.pool_p, pool.lang.tolist())[2]
        return model

    # -- prediction -------------------------------------------------------------------------------------------
    def probabilities(self, f: Features) -> np.ndarray:
        """P(topic | question), one column per class."""
        if self.clf is None:
            return np.ones((len(f), len(self.classes)))
        # in float64, as topic_similarity: a float32 product's last bits differ with the product's other rows
        # (BLAS), and the stored score, rounded to 4 decimals, then differed between a question scored alone (a
        # nightly) and in a full rebuild where it sat at a rounding edge (3 of 20,000 BANKING77 questions)
        return self.clf.predict_proba(f.emb.astype(np.float64))

    def topic_similarity(self, f: Features, topic_idx: np.ndarray) -> np.ndarray:
        """Similarity of each question to the nearest labelled example of the given topic (in float64: see
        ``probabilities``)."""
        out = np.zeros(len(f), dtype=np.float64)
        for k in np.unique(topic_idx):
            rows = np.flatnonzero(topic_idx == k)
            refs = np.flatnonzero(self.ref_topic == k)
            a, b = f.take(rows), self.ref_features.take(refs)
            out[rows] = self.featurizer.similarity(Features(a.emb.astype(np.float64), a.lex, a.cjk),
                                                   Features(b.emb.astype(np.float64), b.lex, b.cjk)).max(axis=1)
        return np.clip(out, 0, 1)

    def _scores(self, f: Features, p: np.ndarray, languages) -> tuple[np.ndarray, ...]:
        """(topic index, P(topic) × similarity, answered score: the same where the topic has an article in the
        language, else 0, that article id) for probabilities ``p``."""
        n = len(f)
        if not n:
            return np.zeros(0, dtype=int), np.zeros(0), np.zeros(0), np.zeros(0, dtype=object)
        best = p.argmax(axis=1)
        score = p[np.arange(n), best] * self.topic_similarity(f, best)
        article = np.array([self._article(t, lang) for t, lang in zip(self.classes[best], languages, strict=True)],
                           dtype=object)
        return best, score, np.where(pd.notna(article), score, 0.0), article

    def _article(self, topic: str, language: str | None):
        if language is None:  # unknown language: any article of the topic
            return next((a for (t, _), a in sorted(self.article_of.items()) if t == topic), None)
        return self.article_of.get((topic, faq_language(language)))

    def _neighbours(self, f: Features) -> np.ndarray | None:
        """Indices of each question's ``neighbours`` nearest pool questions (embedding cosine), or None."""
        k = self.neighbours
        if self.pool_emb is None or k < 1 or len(self.pool_emb) < k or not len(f):
            return None
        out = np.empty((len(f), k), dtype=np.int64)
        emb = self._project(f.emb)
        # 256 questions' similarities to the pool at a time (8 MiB with a pool of 4,000): they stay in the CPU's
        # cache between the product, the negation and the partition, about two thirds of the time of blocks of
        # 4,096 (131 MiB; docs/BENCHMARKS.md, "FAQ matching"). The product's last bits differ with its other rows
        # (BLAS), so the pick does not rest on them: the candidates are computed again exactly (_top_k_exact). A
        # short last block still joins the one before (no block under _MIN_BLAS_ROWS rows): fewer rows took a
        # slower path
        n = len(f)
        starts = list(range(0, n, _NEIGHBOUR_BLOCK))
        if len(starts) > 1 and n - starts[-1] < _MIN_BLAS_ROWS:
            starts.pop()
        emb32, pool32 = emb.astype(np.float32), self.pool_emb.astype(np.float32)
        for lo, hi in zip(starts, [*starts[1:], n], strict=True):
            out[lo:hi] = _top_k_exact(emb32[lo:hi] @ pool32.T, k, emb[lo:hi], self.pool_emb)
        return out

    def _project(self, emb: np.ndarray) -> np.ndarray:
        """Embeddings projected for the neighbour search, unit rows, in float64 (see ``_neighbours``)."""
        x = emb.astype(np.float64)
        if self.projection is not None:
            x = x @ self.projection.astype(np.float64)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)

    def predict(self, texts: list[str], languages: list[str] | np.ndarray,
                bar: np.ndarray | float = 0.2) -> pd.DataFrame:
        """``_predict`` over two or more processes for large batches (the featurising is single-threaded
        Python and NumPy); the result is identical to one process's."""
        n = len(texts)
        workers = min(os.cpu_count() or 1, 4)
        if n < PARALLEL_MIN or workers < 2:
            return self._predict(texts, languages, bar)
        bars = np.broadcast_to(np.asarray(bar, dtype=float), (n,))
        size = -(-n // workers)
        parts = [(list(texts[i:i + size]), list(languages[i:i + size]), bars[i:i + size].copy())
                 for i in range(0, n, size)]
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
            frames = list(pool.map(self._predict_args, parts))
        return pd.concat(frames, ignore_index=True)

    def _predict_args(self, args) -> pd.DataFrame:
        return self._predict(*args)

    def _predict(self, texts: list[str], languages: list[str] | np.ndarray,
                 bar: np.ndarray | float = 0.2) -> pd.DataFrame:
        n = len(texts)
        if 0 < n < _MIN_BLAS_ROWS:
            # BLAS multiplies a matrix of one row (or a few) another way, whose last bits differ from the same row's
            # in a bigger batch: a question scored alone (a nightly's one new question) could round to another
            # faq_match_score than in a full rebuild. Padded with copies of the last question to a batch's shape
            # (docs/BENCHMARKS.md, "FAQ matching")
            pad = _MIN_BLAS_ROWS - n
            bars = np.broadcast_to(np.asarray(bar, dtype=float), (n,))
            padded = self._predict(list(texts) + [texts[-1]] * pad, list(languages) + [languages[-1]] * pad,
                                   np.concatenate([bars, np.repeat(bars[-1:], pad)]))
            return padded.iloc[:n].reset_index(drop=True)
        with threadpool_limits(1):  # small matrices: one BLAS thread (as in fit); two fought over two cores
            return self._predict_one_thread(texts, languages, bar)

    def _predict_one_thread(self, texts: list[str], languages: list[str] | np.ndarray,
                            bar: np.ndarray | float = 0.2) -> pd.DataFrame:
        """For each text: faq_topic, faq_match_score, faq_article_id (the topic's article in the text's FAQ
        language, if any), is_topic_confident (score ≥ bar), is_faq_matched (confident and an article exists).

        The question's ``neighbours`` nearest questions in the pool (a sample of the questions being matched)
        have their say, with weight 1 − ``own_weight``: its topic probabilities are blended with theirs, and
        ``faq_match_score`` = own_weight × P(topic) × similarity + (1 − own_weight) × their mean answered score
        (a question whose look-alikes no article answers is probably not answered either)."""
        n = len(texts)
        cleaned = [clean(t) for t in texts]
        f = self.featurizer.transform(cleaned)
        langs = [faq_language(x) for x in languages]
        p = self.probabilities(f)
        near = self._neighbours(f)
        if near is not None:
            p = self.own_weight * p + (1 - self.own_weight) * self.pool_p[near].mean(axis=1)
        best, score, _, article = self._scores(f, p, langs)
        if near is not None:
            score = self.own_weight * score + (1 - self.own_weight) * self.pool_score[near].mean(axis=1)
        score = np.round(score, 4)
        empty = np.array([not t for t in cleaned], dtype=bool)
        score[empty] = 0.0
        topic = self.classes[best].astype(object) if n else np.zeros(0, dtype=object)
        confident = (score >= bar) & ~empty
        topic[empty] = None
        article[empty] = None
        return pd.DataFrame({
            "faq_topic": topic,
            "faq_match_score": np.where(empty, np.nan, score),
            "faq_article_id": article,
            "is_topic_confident": confident,
            "is_faq_matched": confident & pd.notna(article),
        })


def score_pairs(questions: list[str], article_texts: list[str], *, corpus: list[str] | None = None,
                lexical_weight: float = 0.5, lexical_weight_cjk: float = 0.7) -> np.ndarray:
    """Similarity of each (question, article text) pair, with the featuriser and blend the pipeline uses
    for ``faq_match_score``'s similarity factor and for clusters' distance to articles.

    The lexical vocabulary is fitted on ``corpus`` (default: the pairs' own texts), as the pipeline fits it
    on the catalogue and the questions it matches. Returns one float per pair, in [0, 1]."""
    if len(questions) != len(article_texts):
        raise ValueError("questions and article_texts must have the same length")
    if not questions:
        return np.zeros(0)
    fz = Featurizer.fit(list(corpus) if corpus is not None else list(questions) + list(article_texts),
                        lexical_weight=lexical_weight, lexical_weight_cjk=lexical_weight_cjk)
    a, b = fz.transform(list(questions)), fz.transform(list(article_texts))
    w = fz.weights(a)
    lex = np.asarray(a.lex.multiply(b.lex).sum(axis=1)).ravel()
    emb = (a.emb * b.emb).sum(axis=1)
    return np.clip((1 - w) * emb + w * lex, 0, 1)
