"""Redaction recall and false positives on the seeded corpus (docs/PRIVACY.md reports the figures).

    python benchmarks/redaction_eval.py [--real ../shared/datasets/banking77/train.csv]

--real: a CSV of real customer texts (a ``text`` column) that were not used to write the rules; prints how many
the redactor changes, with examples (on texts known to hold no personal data, every change is a false positive).
"""

from __future__ import annotations

import argparse
import random
import time
from collections import defaultdict

import pandas as pd

from csqa.pipeline.ingest.pii_corpus import corpus, look_alikes
from csqa.pipeline.ingest.privacy import redact_series, redact_text


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


def random_hashes(n: int = 100_000, seed: int = 13) -> list[str]:
    """Transaction hashes as customers paste them: 64 hex digits, lower or upper case, with or without ``0x``,
    alone or in a sentence."""
    r = random.Random(seed)
    out = []
    for i in range(n):
        h = f"{r.getrandbits(256):064x}"
        h = h.upper() if i % 5 == 0 else h
        h = "0x" + h if i % 2 == 0 else h
        out.append(r.choice(["{}", "tx {} not confirmed", "提币哈希{}还没到账", "hash: {}."]).format(h))
    return out


def damaged_hashes(texts: list[str]) -> list[str]:
    """The hashes redaction changed (any change is damage: a hash holds no personal data)."""
    return [t for t in texts if redact_text(t) != t]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--real", help="CSV with a text column of real customer texts")
    args = ap.parse_args()
    table, fp_rate, notes = evaluate()
    print(table.to_string(index=False))
    print(f"look-alikes altered (false positives): {fp_rate:.2%} of {len(look_alikes())}")
    for n in notes[:20]:
        print("  ", n)
    hashes = random_hashes()
    bad = damaged_hashes(hashes)
    print(f"random 64-hex transaction hashes altered: {len(bad)} of {len(hashes):,} ({len(bad) / len(hashes):.2%})")
    for b in bad[:3]:
        print("  ", b, "->", redact_text(b))
    texts = pd.Series([s for s, _, _ in corpus()] * 50 + look_alikes() * 50 + ["普通的问题,没有个人信息"] * 200_000)
    t = time.perf_counter()
    redact_series(texts)
    print(f"throughput: {len(texts) / (time.perf_counter() - t):,.0f} texts/s ({len(texts):,} texts, most clean)")
    if args.real:
        real = pd.read_csv(args.real).text.dropna().astype(str).tolist()
        changed = [(x, redact_text(x)) for x in real if redact_text(x) != x]
        print(f"real texts changed: {len(changed)} of {len(real):,} ({args.real})")
        for before, after in changed[:10]:
            print("  ", repr(before), "->", repr(after))


if __name__ == "__main__":
    main()
