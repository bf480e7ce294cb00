"""Before/after: one benchmark command run from two checkouts, interleaved, with the machine's load.

    python benchmarks/compare.py --before /work/wt-before --after . --pairs 3 \\
        --metric 'ratio=^ratio\\s*:\\s*([\\d.]+)' --metric 'csqa s=^csqa load.*?:\\s*([\\d.]+) s' \\
        -- benchmarks/bench_load.py --interactions 1000000 --workdir /tmp/p1-{side}

Each checkout runs the script with its own interpreter (``<checkout>/.venv/bin/python``, or ``--python-before`` /
``--python-after``) from its own folder. ``{side}`` in an argument becomes ``before`` or ``after`` (so the two
sides keep their warehouses apart). The runs go ABBA (before, after, after, before, ...) so a drift in the
machine's load falls on both sides alike. Each ``--metric name=regex`` is read from every run's output (the
first group of each match, thousands separators dropped, every match kept, in order). The 1-minute load average
is taken before and after each run: on a shared machine a figure is only as good as the load it was taken under,
so it is printed beside it. Every run's whole output is kept in ``--logs`` (default ``/tmp/csqa-compare``).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _metric(spec: str) -> tuple[str, re.Pattern]:
    name, sep, rx = spec.partition("=")
    if not sep or not name or not rx:
        raise argparse.ArgumentTypeError(f"--metric wants name=regex, got {spec!r}")
    pattern = re.compile(rx, re.MULTILINE)
    if pattern.groups < 1:
        raise argparse.ArgumentTypeError(f"--metric {name}: the regex needs one group for the figure")
    return name, pattern


def _python(checkout: Path, given: str | None) -> str:
    if given:
        return given
    venv = checkout / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _order(pairs: int) -> list[str]:
    sides = []
    for i in range(pairs):
        sides += ["before", "after"] if i % 2 == 0 else ["after", "before"]
    return sides


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", type=Path, required=True, help="the checkout measured as 'before'")
    ap.add_argument("--after", type=Path, required=True, help="the checkout measured as 'after'")
    ap.add_argument("--python-before")
    ap.add_argument("--python-after")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--metric", type=_metric, action="append", default=[], metavar="NAME=REGEX")
    ap.add_argument("--logs", type=Path, default=Path("/tmp/csqa-compare"))
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- script.py [its arguments]")
    args = ap.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        ap.error("give the benchmark after --, e.g. -- benchmarks/bench_load.py --interactions 1000000")
    checkouts = {"before": args.before.resolve(), "after": args.after.resolve()}
    for side, path in checkouts.items():
        if not (path / command[0]).exists():
            ap.error(f"{side}: {path / command[0]} does not exist")
    args.logs.mkdir(parents=True, exist_ok=True)

    runs = []
    for n, side in enumerate(_order(args.pairs), 1):
        cmd = [_python(checkouts[side], getattr(args, f"python_{side}")), command[0],
               *(a.replace("{side}", side) for a in command[1:])]
        load_before = os.getloadavg()[0]
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=checkouts[side], capture_output=True, text=True)
        secs = time.perf_counter() - t
        load_after = os.getloadavg()[0]
        log = args.logs / f"{n:02d}-{side}.log"
        log.write_text(f"$ {' '.join(cmd)}\n(cwd {checkouts[side]})\n\n{proc.stdout}\n--- stderr ---\n{proc.stderr}")
        figures = {name: [float(m.replace(",", "")) for m in rx.findall(proc.stdout)] for name, rx in args.metric}
        runs.append({"side": side, "rc": proc.returncode, "secs": secs, "load": (load_before, load_after),
                     "figures": figures, "log": log})
        shown = "; ".join(f"{k} {', '.join(f'{v:g}' for v in vs) or '-'}" for k, vs in figures.items())
        print(f"run {n:2d} {side:<6} exit {proc.returncode}  {secs:7.1f} s  load {load_before:.2f} -> "
              f"{load_after:.2f}  {shown}  ({log})", flush=True)

    failed = [r for r in runs if r["rc"] != 0]
    print(f"\n{'metric':<24}{'before (each run)':<36}{'after (each run)':<36}{'median b':>10}{'median a':>10}")
    for name, _ in args.metric:
        row = {}
        for side in ("before", "after"):
            vals = [v for r in runs if r["side"] == side and r["rc"] == 0 for v in r["figures"][name]]
            row[side] = (", ".join(f"{v:g}" for v in vals), statistics.median(vals) if vals else float("nan"))
        print(f"{name:<24}{row['before'][0]:<36}{row['after'][0]:<36}{row['before'][1]:10.3g}{row['after'][1]:10.3g}")
    loads = [x for r in runs for x in r["load"]]
    print(f"load average (1 min) over the runs: {min(loads):.2f}–{max(loads):.2f}; {os.cpu_count()} cores")
    if failed:
        print(f"{len(failed)} run(s) failed: " + ", ".join(str(r["log"]) for r in failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
