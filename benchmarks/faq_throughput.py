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
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import faq_inputs
from csqa.pipeline.faq import FaqModel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=200_000)
    args = ap.parse_args()
    arts, texts, tagged = faq_inputs(args.questions)
    t = time.perf_counter()
    pool = texts[:20_000]  # fewer with --questions under 20,000
    model = FaqModel.fit(arts, tagged, corpus=pool, corpus_languages=["en"] * len(pool))
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
