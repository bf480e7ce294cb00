"""FAQ matching and topic prediction throughput: questions per second (goal >= 20,000 on 2 cores).

    python benchmarks/faq_throughput.py [--questions N]

Questions are BANKING77 texts (or the generator's when the data set is absent), each made unique
with a suffix so de-duplication does not flatter the figure. The model is fitted as a refresh fits it:
the generator's published articles plus agents' tags (20% of BANKING77's questions, 77 more topics), with
a neighbour pool of 4,000 questions. Fitting is timed apart from predicting.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from csqa.pipeline.faq import FaqModel
from csqa.pipeline.synth.generate import generate

ROOT = Path(__file__).resolve().parent.parent
B77 = ROOT.parent / "shared" / "datasets" / "banking77" / "train.csv"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=200_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), n=2000, days=14, seed=3, messages=False)
        arts = pd.read_csv(Path(tmp) / "faq_articles.csv", dtype=str, keep_default_na=False)
        base = (pd.read_csv(B77).text.tolist() if B77.exists()
                else pd.read_csv(Path(tmp) / "interactions.csv", dtype=str).first_message.tolist())
    arts = arts[arts.status == "published"]
    texts = [f"{base[i % len(base)]} (ref {i})" for i in range(args.questions)]
    tagged = pd.DataFrame()
    if B77.exists():
        b = pd.read_csv(B77).sample(frac=0.2, random_state=0)
        tagged = pd.DataFrame({"question": b.text, "topic": b.category})
    t = time.perf_counter()
    model = FaqModel.fit(arts, tagged, corpus=texts[:20_000], corpus_languages=["en"] * 20_000)
    fit_secs = time.perf_counter() - t
    rows = []
    for label, qs in (("unique questions", texts), ("first 20,000", texts[:20_000])):
        t = time.perf_counter()
        model.predict(qs, ["en"] * len(qs), 0.1)
        secs = time.perf_counter() - t
        rows.append({"case": label, "questions": len(qs), "seconds": round(secs, 2),
                     "questions_per_second": round(len(qs) / secs)})
    print(f"cores: {os.cpu_count()}, articles: {len(arts)}, topics: {len(model.classes)}, "
          f"fit: {fit_secs:.2f} s (includes loading the embeddings)")
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
