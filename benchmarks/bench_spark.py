"""DuckDB vs Spark on one machine: the same generated set loaded and its marts built by each engine.

    python benchmarks/bench_spark.py [--interactions 1000000] [--master 'local[2]'] [--workdir /tmp/csqa-bench]

Each engine runs in fresh child processes in the same run, on the same files (`csqa generate --no-messages`,
one CSV per entity): `csqa load DIR` (DuckDB: validate, upsert, every mart, snapshot) against
`csqa spark load DIR --no-refresh` followed by `csqa spark refresh` (Spark: the same contract, then every mart
rebuilt from the lake). Prints wall times, the peak RSS benchmarks/common.py reports (the largest process the
wrapper waited for: Spark's JVM may not be among them, so read it as a lower bound for Spark), the machine's
load average around each step (the machine may be shared), and checks both engines loaded the same rows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import csqa, generate, machine


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--interactions", type=int, default=1_000_000)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/csqa-bench"))
    args = ap.parse_args()
    env = {"CSQA_PSEUDONYM_KEY": "bench"}
    data = args.workdir / f"spark-{args.interactions}"
    generate(data, args.interactions, seed=3)
    wh, lake = args.workdir / "wh-spark-bench", args.workdir / "lake-spark-bench"
    for d in (wh, lake):
        shutil.rmtree(d, ignore_errors=True)
    wh.mkdir(parents=True)
    print(f"machine: {machine()}; {args.interactions:,} interactions in {data}")
    print(f"load average before: {load_average()}")
    d_secs, d_rss, d_sum = csqa("load", str(data), "--db", str(wh / "csqa.duckdb"), env=env)
    print(f"DuckDB  csqa load (contract + marts)       : {d_secs:8.1f} s  peak RSS {d_rss:6,} MiB "
          f"({d_sum['rows_loaded']:,} rows)   load avg {load_average()}")
    l_secs, l_rss, l_sum = csqa("spark", "load", str(data), "--lake", str(lake), "--master", args.master,
                                "--no-refresh", env=env)
    print(f"Spark   csqa spark load --no-refresh       : {l_secs:8.1f} s  peak RSS {l_rss:6,} MiB "
          f"({l_sum['rows_loaded']:,} rows)   load avg {load_average()}")
    r_secs, r_rss, r_sum = csqa("spark", "refresh", "--lake", str(lake), "--master", args.master, env=env)
    print(f"Spark   csqa spark refresh (every mart)    : {r_secs:8.1f} s  peak RSS {r_rss:6,} MiB "
          f"({r_sum['interactions']:,} interactions)   load avg {load_average()}")
    print(f"Spark total {l_secs + r_secs:.1f} s vs DuckDB {d_secs:.1f} s: {(l_secs + r_secs) / d_secs:.1f} x")
    slowest = sorted(r_sum["models"].items(), key=lambda kv: -kv[1])[:4]
    print("slowest Spark steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in slowest))
    assert d_sum["rows_loaded"] == l_sum["rows_loaded"], "the engines loaded different row counts"


if __name__ == "__main__":
    main()
