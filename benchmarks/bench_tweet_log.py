"""Threaded message log benchmark: `csqa load --source tweets` of a synthetic customer-support tweet log.

    python benchmarks/bench_tweet_log.py [--threads 100000] [--workdir /tmp/csqa-bench]

Writes a twcs.csv-shaped log (tweet_id, author_id, inbound, created_at, text, response_tweet_id,
in_response_to_tweet_id) of N three-tweet threads (customer, brand reply, customer), deterministic for
seed 1, then loads it in a fresh child process: reading twice (ids first), threading, validating,
building the interactions, upsert, marts. Prints seconds, each step, and peak memory.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import csqa, machine


def write_log(path: Path, threads: int, seed: int = 1) -> int:
    rnd = random.Random(seed)
    base = dt.datetime(2017, 10, 1, tzinfo=dt.UTC)
    fmt = "%a %b %d %H:%M:%S +0000 %Y"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["tweet_id", "author_id", "inbound", "created_at", "text", "response_tweet_id",
                    "in_response_to_tweet_id"])
        tid = 1
        for t in range(threads):
            start = base + dt.timedelta(seconds=rnd.randint(0, 60 * 86400))
            reply = start + dt.timedelta(seconds=rnd.randint(30, 7200))
            again = reply + dt.timedelta(seconds=rnd.randint(30, 3600))
            w.writerow([tid, 100000 + t, "True", start.strftime(fmt), "help me please", "", ""])
            w.writerow([tid + 1, "BrandSupport", "False", reply.strftime(fmt), "we are on it", "", tid])
            w.writerow([tid + 2, 100000 + t, "True", again.strftime(fmt), "thanks", "", tid + 1])
            tid += 3
    return 3 * threads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=100_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/csqa-bench"))
    args = ap.parse_args()
    log = args.workdir / f"tweets-{args.threads}" / "twcs.csv"
    rows = write_log(log, args.threads)
    wh = args.workdir / "wh-tweets"
    shutil.rmtree(wh, ignore_errors=True)
    wh.mkdir(parents=True)
    secs, rss, summary = csqa("load", "--source", "tweets", str(log), "--db", str(wh / "csqa.duckdb"))
    print(f"machine: {machine()}; file: {log} ({rows:,} tweets, {args.threads:,} threads)")
    print(f"csqa load --source tweets : {secs:8.2f} s   peak RSS {rss:6,} MiB   "
          f"loaded {summary['rows_loaded']:,}, notes: {'; '.join(summary['files'][0]['notes'])}")
    for k, v in summary["steps"].items():
        print(f"  {k:<26}{v:8.2f}")


if __name__ == "__main__":
    main()
