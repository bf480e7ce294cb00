"""Load benchmark: `csqa load` of N interactions against DuckDB's own CSV import of the same file.

    python benchmarks/bench_load.py [--interactions 1000000] [--workdir /tmp/csqa-bench]

Both run in fresh child processes in the same run. csqa's time covers everything a load does: read,
redact, parse, validate (pandera), stage, upsert, quarantine and audit, refresh every mart (FAQ matching
included), commit and publish the reader snapshot. Prints the ratio (goal <= 3.0; 2.0 the moonshot), each step's share,
peak memory, and CPU seconds: the load's whole and each phase's, against what 3.0 x leaves on
this machine's cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import csqa_measured, generate, machine, run_measured


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--interactions", type=int, default=1_000_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/csqa-bench"))
    args = ap.parse_args()
    data = args.workdir / f"load-{args.interactions}"
    csv = generate(data, args.interactions, seed=1)
    for f in ("csat_surveys.csv", "faq_articles.csv"):
        (data / f).unlink(missing_ok=True)
    wh = args.workdir / "wh-load"
    shutil.rmtree(wh, ignore_errors=True)
    wh.mkdir(parents=True)
    base_sql = (f"import duckdb; c = duckdb.connect('{wh / 'baseline.duckdb'}'); "
                f"c.execute(\"create table t as select * from read_csv('{csv}')\"); c.close()")
    b_secs, b_rss, b_cpu, _ = run_measured([sys.executable, "-c", base_sql])
    secs, rss, cpu, summary = csqa_measured("load", str(csv), "--db", str(wh / "csqa.duckdb"))
    cores = os.cpu_count() or 1
    print(f"machine: {machine()}; file: {csv} ({csv.stat().st_size / 2**20:.0f} MiB, {args.interactions:,} rows)")
    print(f"DuckDB read_csv -> table : {b_secs:8.2f} s   peak RSS {b_rss:6,} MiB   CPU {b_cpu:6.2f} s")
    print(f"csqa load (everything)   : {secs:8.2f} s   peak RSS {rss:6,} MiB   CPU {cpu:6.2f} s")
    print(f"ratio                    : {secs / b_secs:8.2f}   (goal <= 3.0, moonshot 2.0)")
    goal = 3.0 * b_secs
    print(f"CPU budget at the goal   : {goal:8.2f} s of wall time x {cores} cores = {goal * cores:.2f} CPU s at most; "
          f"the load spent {cpu:.2f} ({cpu / (goal * cores):.2f} x that budget; {cpu / secs:.2f} cores busy on "
          "average)")
    steps = summary["steps"]
    top = {k: v for k, v in steps.items() if "." not in k}
    other = secs - sum(top.values())
    print("\nstep                        seconds   share   (validate: the loading thread's wait for the validation "
          "threads; validate.*: their own time, summed)")
    for k, v in [*top.items(), ("start-up, sha256, audit", other)]:
        print(f"  {k:<26}{v:8.2f}  {100 * v / secs:5.1f}%")
        for sk, sv in steps.items():
            if sk.startswith(k + "."):
                print(f"    {sk:<24}{sv:8.2f}  {100 * sv / secs:5.1f}%")
        if k == "marts":  # the slowest models (csqa load --json: marts_models)
            for name, sv in sorted(summary.get("marts_models", {}).items(), key=lambda x: -x[1])[:3]:
                print(f"    {name:<24}{sv:8.2f}  {100 * sv / secs:5.1f}%")
    # each phase's CPU seconds (every thread: Python's and DuckDB's) against its wall time
    phase_cpu = summary.get("cpu_seconds", {})
    walls = {"read to stage": sum(steps.get(k, 0) for k in ("read", "validate", "stage")),
             **{k: steps.get(k, 0) for k in ("upsert", "marts", "commit", "snapshot")}}
    rest_wall, rest_cpu = secs - sum(walls.values()), cpu - sum(phase_cpu.values())
    print("\nphase (the rest: start-up, sha256, cross-file checks, audit, exit)")
    print("                            wall s    CPU s   cores busy")
    for k, w in [*walls.items(), ("the rest", rest_wall)]:
        c = phase_cpu.get(k, rest_cpu if k == "the rest" else 0)
        print(f"  {k:<26}{w:8.2f} {c:8.2f}   {c / w if w else 0:5.2f}")


if __name__ == "__main__":
    main()
