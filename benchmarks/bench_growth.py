"""Growth and memory benchmark: a nightly batch into an empty warehouse and into a big one.

    python benchmarks/bench_growth.py [--base 10000000] [--batch 100000] [--workdir /tmp/csqa-bench] [--messages]

1. Builds the base warehouse: --base interactions (in files of 1M, seeds 101..) loaded in one batch.
   Its peak RSS is the memory figure (goal <= 1.5 GB for 10M).
2. Loads the same --batch file (new interactions, the days after the base) into an empty warehouse and
   into a copy of the base one. The ratio of the two is the growth figure (goal <= 1.3). With --warmup N the
   base first gets one nightly of N interactions (once), so the batch meets a warehouse in its nightly state.
   The big warehouse is a copy of the base with its published snapshots (topped up to the configured number,
   3, by publishing the base again once): a running warehouse has them, and a publish takes over the oldest
   instead of copying the whole file (pipeline/ops/snapshots.py). --no-snapshots copies the file alone, as
   before the sixth session (every publish then copies the whole file).

--messages: the base and the batch carry the generator's message events and CSAT surveys (about 3.2 messages and
0.65 surveys per interaction); without it, interactions only. Use a workdir of its own: the generated files are kept
and reused by the next run in the same workdir.

The base is kept (<workdir>/wh-base-<base>/) and reused by the next run with the same --base; delete it after a
change to sql/ (a changed model rebuilds every mart on the next load, so the batch would measure a full
rebuild). The big warehouse after the last run (<workdir>/wh-big-<base>/) is the one bench_dashboard.py reads.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import csqa, generate, machine
from csqa.pipeline.config import load_config
from csqa.pipeline.ops.snapshots import publish, snapshot_batch, snapshot_dir

PER_FILE = 1_000_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=int, default=10_000_000)
    ap.add_argument("--batch", type=int, default=100_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/csqa-bench"))
    ap.add_argument("--repeat", type=int, default=1, help="measure the two batch loads this many times (spread)")
    ap.add_argument("--warmup", type=int, default=0,
                    help="once, load a nightly batch of this many interactions (2026-11-24, seed 300) into the base "
                         "before measuring, so the batch meets a warehouse after a nightly load, not one right after "
                         "its first full build (kept: <base>/warmup-<n>.done)")
    ap.add_argument("--messages", action="store_true",
                    help="generate and load message events and CSAT surveys with the interactions")
    ap.add_argument("--no-snapshots", action="store_true",
                    help="copy the base's file without its published snapshots (the publish then copies the file)")
    args = ap.parse_args()
    base_dir = args.workdir / f"base-{args.base}"
    files = []
    for i in range((args.base + PER_FILE - 1) // PER_FILE):
        n = min(PER_FILE, args.base - i * PER_FILE)
        d = base_dir / f"part{i:02d}"
        files.append(generate(d, n, seed=101 + i, messages=args.messages))
        files += _events(d, args.messages)
    # FAQ articles once, so the marts have a catalogue to match against
    generate(base_dir / "faq", 1000, seed=100)
    (base_dir / "faq" / "interactions.csv").unlink(missing_ok=True)
    (base_dir / "faq" / "csat_surveys.csv").unlink(missing_ok=True)
    batch = generate(args.workdir / f"batch-{args.batch}", args.batch, seed=200, days=1, end="2026-11-25",
                     messages=args.messages)
    batch = [batch, *_events(batch.parent, args.messages)]

    base_db = args.workdir / f"wh-base-{args.base}" / "csqa.duckdb"
    if not base_db.exists():
        shutil.rmtree(base_db.parent, ignore_errors=True)
        secs, rss, s = csqa("load", *map(str, files), str(base_dir / "faq" / "faq_articles.csv"), "--db", str(base_db))
        print(f"base: {args.base:,} interactions loaded in {secs:.1f} s, peak RSS {rss:,} MiB "
              f"(goal <= 1,536 MiB); marts {s['marts_seconds']:.1f} s; steps {s['steps']}")
    else:
        print(f"base: reusing {base_db}")
    done = base_db.parent / f"warmup-{args.warmup}.done"
    if args.warmup and not done.exists():
        warm = generate(args.workdir / f"warmup-{args.warmup}", args.warmup, seed=300, days=1, end="2026-11-24",
                        messages=args.messages)
        secs, _, s = csqa("load", str(warm), *map(str, _events(warm.parent, args.messages)), "--db", str(base_db))
        print(f"warm-up: {args.warmup:,} interactions loaded into the base in {secs:.1f} s, marts {s['marts_scope']}")
        done.touch()
    if not args.no_snapshots:
        _top_up_snapshots(base_db)
    print(f"machine: {machine()}")
    ratios = []
    for rep in range(args.repeat):
        e_secs, e, b_secs, b = _batch_pair(args, base_db, base_dir, batch)
        print(f"run {rep + 1}: batch of {args.batch:,} into an empty warehouse: {e_secs:7.2f} s")
        print(f"    steps {e['steps']}")
        print(f"    marts {e.get('marts_models')}")
        print(f"run {rep + 1}: batch of {args.batch:,} into {args.base:,}: {b_secs:7.2f} s")
        print(f"    steps {b['steps']}")
        print(f"    marts {b.get('marts_models')}")
        ratios.append(b_secs / e_secs)
        print(f"run {rep + 1}: ratio {ratios[-1]:.2f} (goal <= 1.3); marts scope in the big one: {b['marts_scope']}")
    print(f"ratio over {len(ratios)} run(s): min {min(ratios):.2f}, median {sorted(ratios)[len(ratios) // 2]:.2f}, "
          f"max {max(ratios):.2f}")


def _batch_pair(args, base_db: Path, base_dir: Path, batch: list[Path]):
    empty_db = args.workdir / "wh-empty" / "csqa.duckdb"
    shutil.rmtree(empty_db.parent, ignore_errors=True)
    big_db = args.workdir / f"wh-big-{args.base}" / "csqa.duckdb"
    shutil.rmtree(big_db.parent, ignore_errors=True)
    big_db.parent.mkdir(parents=True)
    shutil.copyfile(base_db, big_db)
    shutil.copyfile(base_db.with_name("csqa.duckdb.key"), big_db.with_name("csqa.duckdb.key"))
    if not args.no_snapshots:  # copies, not links: a publish rewrites the oldest snapshot in place
        shutil.copytree(snapshot_dir(base_db), snapshot_dir(big_db), symlinks=True)
    # "empty": no interactions yet, but the FAQ catalogue is there, as in any running warehouse
    csqa("load", str(base_dir / "faq" / "faq_articles.csv"), "--db", str(empty_db))
    os.sync()  # the copies' write-back is the set-up's, not the measured loads'
    e_secs, _, e = csqa("load", *map(str, batch), "--db", str(empty_db))
    b_secs, _, b = csqa("load", *map(str, batch), "--db", str(big_db))
    return e_secs, e, b_secs, b

def _events(folder: Path, messages: bool) -> list[Path]:
    """The message and survey files of a generated folder to load with its interactions (none without --messages:
    the surveys are removed then); its FAQ articles are removed (the base loads one catalogue)."""
    (folder / "faq_articles.csv").unlink(missing_ok=True)
    if not messages:
        (folder / "csat_surveys.csv").unlink(missing_ok=True)
        return []
    return [folder / "messages.csv", folder / "csat_surveys.csv"]


def _top_up_snapshots(base_db: Path) -> None:
    """Publish the base again until it has as many snapshots as a running warehouse keeps (the default 3)."""
    keep = load_config().warehouse.snapshots
    while len(list(snapshot_dir(base_db).glob(f"{base_db.stem}-*.duckdb"))) < keep:
        publish(base_db, snapshot_batch(base_db), keep=keep)


if __name__ == "__main__":
    main()
