"""Measure FAQ matching and gap detection quality (docs/FAQ.md reports the figures).

    python benchmarks/faq_eval.py [--banking77 PATH] [--threshold T]

1. BANKING77 (English, 77 intents): 50 intents get an article (the intent's name plus 8 of its
   questions, held out from the test set), 27 stay uncovered. Every other question is matched.
2. The generator's Chinese and English questions against the generator's catalogue (topics with
   no article in that language are uncovered).

Reported: top-1 article accuracy on covered questions, share of uncovered questions flagged as
unmatched (gap recall), share of covered questions wrongly flagged, accuracy of the matches
that pass the threshold, cluster purity of the unmatched uncovered questions, throughput.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from csqa.pipeline.faq import FaqMatcher, cluster_questions
from csqa.pipeline.generate import generate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_B77 = ROOT.parent / "shared" / "datasets" / "banking77" / "train.csv"
THRESHOLDS = [0.15, 0.2, 0.25, 0.3, 0.35, 0.4]


def purity(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    total = 0
    for c in np.unique(labels_pred):
        total += Counter(labels_true[labels_pred == c]).most_common(1)[0][1]
    return total / len(labels_true) if len(labels_true) else float("nan")


def evaluate(name: str, articles: pd.DataFrame, questions: pd.DataFrame, threshold: float) -> list[dict]:
    """articles: article_id, topic, language, title, body; questions: text, topic, covered (bool)."""
    matcher = FaqMatcher.fit(articles)
    t = time.perf_counter()
    best, score = matcher.match(questions.text.tolist())
    secs = time.perf_counter() - t
    pred = matcher.articles.topic.to_numpy()[best]
    cov = questions.covered.to_numpy()
    truth = questions.topic.to_numpy()
    rows = []
    for th in sorted({*THRESHOLDS, threshold}):
        passed = score >= th
        rows.append({
            "data": name, "threshold": th,
            "top1_accuracy_covered": round(float((pred[cov] == truth[cov]).mean()), 3),
            "uncovered_flagged": round(float((~passed[~cov]).mean()), 3),
            "covered_wrongly_flagged": round(float((~passed[cov]).mean()), 3),
            "accuracy_of_matches": round(float((pred[cov & passed] == truth[cov & passed]).mean()), 3),
            "questions_per_second": round(len(questions) / secs),
        })
    flagged_uncovered = questions[(score < threshold) & ~cov]
    if len(flagged_uncovered) >= 10:
        df = pd.DataFrame({"interaction_id": np.arange(len(flagged_uncovered)).astype(str),
                           "question": flagged_uncovered.text.to_numpy(), "language": "en",
                           "created_at": pd.Timestamp("2026-11-01", tz="UTC")})
        _, members = cluster_questions(df, as_of=pd.Timestamp("2026-11-02", tz="UTC"), min_size=1)
        labels = members.set_index("interaction_id").cluster_id.reindex(df.interaction_id).to_numpy()
        ok = pd.notna(labels)
        p = purity(flagged_uncovered.topic.to_numpy()[ok], labels[ok])
        for r in rows:
            r["cluster_purity"] = round(p, 3) if r["threshold"] == threshold else None
    return rows


def banking77(path: Path, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = pd.read_csv(path)
    rng = np.random.default_rng(seed)
    cats = sorted(df.category.unique())
    covered = set(rng.choice(cats, 50, replace=False))
    df["r"] = rng.random(len(df))
    df = df.sort_values(["category", "r"])
    df["k"] = df.groupby("category").cumcount()
    authoring = df[(df.k < 8) & df.category.isin(covered)]
    test = df[df.k >= 8]
    arts = authoring.groupby("category").text.apply(" ".join).reset_index()
    articles = pd.DataFrame({"article_id": arts.category, "topic": arts.category, "language": "en",
                             "title": arts.category.str.replace("_", " "), "body": arts.text})
    questions = pd.DataFrame({"text": test.text, "topic": test.category, "covered": test.category.isin(covered)})
    return articles, questions


def generator_set(language: str, tmp: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    generate(tmp, n=6000, days=28, seed=21, messages=False)
    inter = pd.read_csv(tmp / "interactions.csv", dtype=str, keep_default_na=False)
    arts = pd.read_csv(tmp / "faq_articles.csv", dtype=str, keep_default_na=False)
    arts = arts[(arts.status == "published") & (arts.language == language)]
    # the true topic: the generator writes the first message from the topic, tagged or not
    from csqa.pipeline.sample_text import MESSAGES

    truth = {m: t for t, by_lang in MESSAGES.items() for msgs in by_lang.values() for m in msgs}
    from csqa.pipeline.privacy import redact_series

    q = inter[inter.language == language].copy()
    q["text"] = redact_series(q.first_message.astype("str"))
    q["topic"] = [next((v for k, v in truth.items() if t.startswith(k.rstrip("。.?"))), None) for t in q.first_message]
    q = q[q.topic.notna()]
    q["covered"] = q.topic.isin(set(arts.topic))
    return arts[["article_id", "topic", "language", "title", "body"]], q[["text", "topic", "covered"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--banking77", type=Path, default=DEFAULT_B77)
    ap.add_argument("--threshold", type=float, default=0.35, help="threshold for English (default 0.35)")
    ap.add_argument("--threshold-zh", type=float, default=0.2, help="threshold for Chinese (default 0.2)")
    args = ap.parse_args()
    import tempfile

    rows = []
    if args.banking77.exists():
        rows += evaluate("banking77 (en)", *banking77(args.banking77), args.threshold)
    else:
        print(f"(BANKING77 not found at {args.banking77}; skipped)")
    with tempfile.TemporaryDirectory() as tmp:
        rows += evaluate("generator zh-CN", *generator_set("zh-CN", Path(tmp) / "zh"), args.threshold_zh)
        rows += evaluate("generator en", *generator_set("en", Path(tmp) / "en"), args.threshold)
    out = pd.DataFrame(rows)
    print(out.to_string(index=False))


if __name__ == "__main__":
    main()
