"""Redaction recall and false positives on the seeded corpus (docs/PRIVACY.md reports the figures).

    python benchmarks/redaction_eval.py
"""

from __future__ import annotations

import time
from collections import defaultdict

import pandas as pd

from csqa.pipeline.pii_corpus import corpus, look_alikes
from csqa.pipeline.privacy import redact_series, redact_text


def evaluate() -> tuple[pd.DataFrame, float, list[str]]:
    hits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses = []
    for sentence, value, placeholder in corpus():
        out = redact_text(sentence)
        ok = value not in out and placeholder in out
        hits[placeholder][0] += ok
        hits[placeholder][1] += 1
        if not ok:
            misses.append(f"{placeholder}: {sentence!r} -> {out!r}")
    rows = [{"type": k, "items": n, "recall": round(h / n, 4)} for k, (h, n) in sorted(hits.items())]
    total_h = sum(h for h, _ in hits.values())
    total_n = sum(n for _, n in hits.values())
    rows.append({"type": "all", "items": total_n, "recall": round(total_h / total_n, 4)})
    la = look_alikes()
    fp = [s for s in la if redact_text(s) != s]
    return pd.DataFrame(rows), len(fp) / len(la), misses + [f"false positive: {s!r}" for s in fp]


def main() -> None:
    table, fp_rate, notes = evaluate()
    print(table.to_string(index=False))
    print(f"look-alikes altered (false positives): {fp_rate:.2%} of {len(look_alikes())}")
    for n in notes[:20]:
        print("  ", n)
    texts = pd.Series([s for s, _, _ in corpus()] * 50 + look_alikes() * 50 + ["普通的问题,没有个人信息"] * 200_000)
    t = time.perf_counter()
    redact_series(texts)
    print(f"throughput: {len(texts) / (time.perf_counter() - t):,.0f} texts/s ({len(texts):,} texts, most clean)")


if __name__ == "__main__":
    main()
