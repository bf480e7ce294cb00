"""The FAQ model's neighbour search by block size: time, and whether the results depend on the block.

    python benchmarks/faq_neighbour_blocks.py [--questions 20000] [--repeat 3] [--alone 1500]

Questions are BANKING77's (repeated, made unique with a suffix) or the generator's when the data set is absent.
The model is fitted as faq_throughput.py fits it (the generator's published articles, 20% of BANKING77 as
agents' tags, a pool of 4,000 of the questions); the search runs on one BLAS thread, as in a refresh.

For each block size it prints the seconds of ``FaqModel._neighbours`` (best of --repeat), how many
question-to-pool similarities differ in any bit from one product over the whole batch, and whether the
neighbours and ``_predict``'s frame equal those of blocks of 4,096 (the size before the eighth session).

Then, for the first --alone questions: how many get another faq_match_score scored alone than in one batch of
them, with ``_predict``'s padding of a small batch and without it (``_MIN_BLAS_ROWS`` = 1: a lone question
multiplied as a matrix of one row).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import B77, faq_inputs
from csqa.pipeline.faq import FaqModel
from csqa.pipeline.faq import model as faq_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--alone", type=int, default=1500)
    args = ap.parse_args()
    arts, texts, tagged = faq_inputs(args.questions)
    langs = ["en"] * len(texts)
    model = FaqModel.fit(arts, tagged, corpus=texts[:20_000], corpus_languages=langs[:20_000])
    f = model.featurizer.transform([faq_model.clean(t) for t in texts])
    emb = model._project(f.emb).astype(np.float32)  # as the search multiplies (float32); its pick is exact
    pool = model.pool_emb.astype(np.float32)
    print(f"questions: {len(texts):,} ({'BANKING77' if B77.exists() else 'generator'}), pool: {len(model.pool_emb):,}")
    with threadpool_limits(1):
        whole = emb @ pool.T
        faq_model._NEIGHBOUR_BLOCK = 4096
        ref_near = model._neighbours(f)
        ref_pred = model._predict(texts, langs, 0.2)
        print(f"{'block':>6} {'seconds':>8} {'products differing':>20} {'neighbours equal':>17} "
              f"{'predictions equal':>18}")
        for block in (1, 2, 4, 16, 64, 128, 256, 512, 1024, 4096):
            differing = sum(int((emb[i:i + block] @ pool.T != whole[i:i + block]).sum())
                            for i in range(0, len(emb), block))
            faq_model._NEIGHBOUR_BLOCK = block
            best = min(_timed(model, f) for _ in range(args.repeat))
            near = model._neighbours(f)
            same_pred = model._predict(texts, langs, 0.2).equals(ref_pred) if block in (1, 256) else None
            print(f"{block:>6} {best:8.3f} {differing:>20,} {np.array_equal(near, ref_near)!s:>17} "
                  f"{'' if same_pred is None else str(same_pred):>18}")
    faq_model._NEIGHBOUR_BLOCK = 256
    sub, sub_langs = texts[:args.alone], langs[:args.alone]
    batch = model._predict(sub, sub_langs, 0.2).faq_match_score.to_numpy()
    padding = faq_model._MIN_BLAS_ROWS
    for label, rows in (("padded (as csqa scores)", padding), ("not padded", 1)):
        faq_model._MIN_BLAS_ROWS = rows
        alone = np.array([model._predict([t], [lang], 0.2).faq_match_score.iloc[0]
                          for t, lang in zip(sub, sub_langs, strict=True)])
        print(f"scored alone, {label}: {int((alone != batch).sum())} of {len(sub):,} scores differ from the batch's")
    faq_model._MIN_BLAS_ROWS = padding


def _timed(model, f) -> float:
    t = time.perf_counter()
    model._neighbours(f)
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
