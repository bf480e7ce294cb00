"""Text features for FAQ matching: one featuriser for questions, article pieces and clusters.

Two views of a text, both L2-normalised rows so that a dot product is a cosine:

- **embedding**: the mean of WordLlama's static token embeddings (``l2_supercat``, 256 dimensions,
  the weights ship inside the ``wordllama`` wheel and are loaded from its own package folder, never
  downloaded). It carries meaning: "card hasn't arrived" is near "where is my card".
- **lexical**: TF-IDF (sublinear) over the same tokenizer's sub-word tokens and token bigrams, plus, for
  text with CJK characters, single CJK characters, character bigrams and trigrams (a Chinese character
  is a word more often than not, so unigrams matter). Fitted on the article pieces, the tagged
  questions *and* a sample of the questions being matched, so a question's own words keep their weight.
  Reusing the embedding's tokenizer (Rust, batched) keeps the lexical view almost free.

``similarity`` blends the two with a per-script weight (``lexical_weight`` for Latin text,
``lexical_weight_cjk`` for text with CJK characters), chosen on the tuning part of the evaluation
(docs/FAQ.md).
"""

from __future__ import annotations

import functools
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

PLACEHOLDER_RE = re.compile(r"\[(?:EMAIL|PHONE|CN_ID|CARD|WALLET|IP|TX_HASH)\]")
CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
EMBED_DIM = 256


def clean(text: str | None) -> str:
    """The text that is matched: redaction placeholders removed, whitespace trimmed."""
    if not text:
        return ""
    return PLACEHOLDER_RE.sub(" ", str(text)).strip()


def has_cjk(text: str) -> bool:
    return CJK_RE.search(text) is not None


_EMBEDDER_LOCK = threading.Lock()


def _new_lock_in_child() -> None:  # a process forked while another thread held the lock would wait for ever
    global _EMBEDDER_LOCK
    _EMBEDDER_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_in_child)


def embedder():
    """WordLlama loaded offline from its own package folder (the wheel carries weights and tokenizer), once per
    process: a caller waits while another thread loads it (a load's warm-up, marts.warm_up_faq).

    ``disable_download=True`` makes a missing file an error instead of a download."""
    with _EMBEDDER_LOCK:
        return _load_embedder()


@functools.cache
def _load_embedder():
    import wordllama
    from wordllama import WordLlama

    wl = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    wl.tokenizer.no_padding()  # embed() below pools exact token lists; padding would count as tokens
    return wl


def tokenize(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """WordLlama's token ids of every text, flat, with CSR-style row offsets (Rust tokenizer, batched)."""
    wl = embedder()
    enc = wl.tokenizer.encode_batch(list(texts), add_special_tokens=False)
    lengths = np.fromiter((len(e.ids) for e in enc), dtype=np.int64, count=len(enc))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    ids = np.fromiter((i for e in enc for i in e.ids), dtype=np.int64, count=int(indptr[-1]))
    np.clip(ids, 0, wl.embedding.shape[0] - 1, out=ids)
    return ids, indptr


def _unit_rows(x):
    if sparse.issparse(x):
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        return (sparse.diags((1 / np.maximum(norms, 1e-9)).astype(np.float32)) @ x).tocsr()
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)


def embed(texts: list[str], tokens: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Mean of the token embeddings of each text, L2-normalised (zeros for an empty text).

    Equal to ``WordLlama.embed(norm=True)`` (average pooling) but without padding: the token ids go into a
    sparse bag-of-tokens matrix that multiplies the embedding table, which is several times faster."""
    table = embedder().embedding
    ids, indptr = tokens if tokens is not None else tokenize(texts)
    n = len(indptr) - 1
    bag = sparse.csr_matrix((np.ones(len(ids), dtype=np.float32), ids, indptr), shape=(n, table.shape[0]))
    return _unit_rows(np.asarray(bag @ table, dtype=np.float32))


def _token_grams(ids: np.ndarray, indptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, gram) pairs: token unigrams and bigrams within each text, a bigram coded as a·V + b + V."""
    v = np.int64(embedder().embedding.shape[0])
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    same = rows[1:] == rows[:-1]
    bi = (ids[:-1] * v + ids[1:] + v)[same]
    return np.concatenate([rows, rows[1:][same]]), np.concatenate([ids, bi])


def _cjk_grams(text: str) -> list[str]:
    out: list[str] = []
    for run in CJK_RE.findall(text):
        out.extend(run)
        out.extend(run[i:i + 2] for i in range(len(run) - 1))
        out.extend(run[i:i + 3] for i in range(len(run) - 2))
    return out


@dataclass
class Features:
    emb: np.ndarray  # dense, n × 256, unit rows
    lex: sparse.csr_matrix  # sparse, unit rows
    cjk: np.ndarray  # bool per row: the text has CJK characters

    def __len__(self) -> int:
        return self.emb.shape[0]

    def take(self, idx) -> Features:
        return Features(self.emb[idx], self.lex[idx], self.cjk[idx])


@dataclass
class Featurizer:
    vocab: np.ndarray  # sorted token-gram codes
    idf: np.ndarray  # one per code
    cjk: TfidfVectorizer | None  # CJK character 1–3-grams, fitted on the corpus's CJK texts
    lexical_weight: float = 0.5
    lexical_weight_cjk: float = 0.7

    @classmethod
    def fit(cls, corpus: list[str], *, lexical_weight: float = 0.5, lexical_weight_cjk: float = 0.7) -> Featurizer:
        corpus = [t for t in (clean(t) for t in corpus) if t] or ["-"]
        ids, indptr = tokenize(corpus)
        rows, grams = _token_grams(ids, indptr)
        pairs = np.unique(np.stack([grams, rows]), axis=1)  # document frequency: one per (gram, row)
        vocab, df = np.unique(pairs[0], return_counts=True)
        idf = (np.log((1 + len(corpus)) / (1 + df)) + 1).astype(np.float32)
        zh = [t for t in corpus if has_cjk(t)]
        cjk = TfidfVectorizer(analyzer=_cjk_grams, sublinear_tf=True, dtype=np.float32).fit(zh) if zh else None
        return cls(vocab, idf, cjk, lexical_weight, lexical_weight_cjk)

    def transform(self, texts: list[str]) -> Features:
        texts = [clean(t) for t in texts]
        n = len(texts)
        tokens = tokenize(texts) if n else (np.zeros(0, np.int64), np.zeros(1, np.int64))
        rows, grams = _token_grams(*tokens)
        col = np.searchsorted(self.vocab, grams)
        col = np.minimum(col, len(self.vocab) - 1)
        known = self.vocab[col] == grams
        tf = sparse.csr_matrix((np.ones(int(known.sum()), np.float32), (rows[known], col[known])),
                               shape=(n, len(self.vocab)))
        tf.sum_duplicates()
        tf.data = (1 + np.log(tf.data)) * self.idf[tf.indices]  # sublinear tf × idf
        lex = _unit_rows(tf)
        is_cjk = np.fromiter((has_cjk(t) for t in texts), dtype=bool, count=n)
        if self.cjk is not None:
            zh = sparse.csr_matrix((n, len(self.cjk.vocabulary_)), dtype=np.float32)
            if is_cjk.any():
                idx = np.flatnonzero(is_cjk)
                part = self.cjk.transform([texts[i] for i in idx]).tocoo()
                zh = sparse.csr_matrix((part.data, (idx[part.row], part.col)), shape=zh.shape)
            lex = _unit_rows(sparse.hstack([lex, zh], format="csr"))
        return Features(embed(texts, tokens), lex, is_cjk)

    def weights(self, f: Features) -> np.ndarray:
        """The lexical weight of each row (its script decides)."""
        return np.where(f.cjk, self.lexical_weight_cjk, self.lexical_weight).astype(np.float32)

    def joint(self, f: Features) -> sparse.csr_matrix:
        """One unit-norm row per text whose dot products are ``similarity`` (for k-means)."""
        w = self.weights(f)
        e = sparse.diags(np.sqrt(1 - w)) @ sparse.csr_matrix(f.emb)
        x = sparse.diags(np.sqrt(w)) @ f.lex
        return sparse.hstack([e, x], format="csr")

    def similarity(self, a: Features, b: Features) -> np.ndarray:
        """Cosine-style similarity of every row of ``a`` to every row of ``b``, in [−1, 1] (mostly [0, 1]):
        (1 − w)·embedding cosine + w·lexical cosine, w by the script of the ``a`` row."""
        w = self.weights(a)[:, None]
        lex = (a.lex @ b.lex.T).toarray() if len(a) and len(b) else np.zeros((len(a), len(b)), np.float32)
        return (1 - w) * (a.emb @ b.emb.T) + w * lex
