"""Helpers for the benchmark scripts: run csqa as a child process and read its time and peak memory."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def csqa(*args: str, env: dict | None = None) -> tuple[float, int, dict]:
    secs, rss, out = run_tracked([sys.executable, "-m", "csqa.pipeline.cli", *args, "--json"], env=env)
    return secs, rss, json.loads(out.strip().splitlines()[-1])


def run_tracked(args: list[str], env: dict | None = None) -> tuple[float, int, str]:
    """Like run(), with the child's own peak RSS (via a tiny wrapper that reports getrusage of its child)."""
    wrapper = ("import resource,subprocess,sys,time;t=time.perf_counter();"
               "p=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
               "sys.stdout.write(p.stdout);sys.stderr.write(p.stderr);"
               "sys.stderr.write('\\nRSS_KB=%d SECONDS=%f\\n'%(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
               "time.perf_counter()-t));sys.exit(p.returncode)")
    proc = subprocess.run([sys.executable, "-c", wrapper, *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=ROOT)
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    tail = proc.stderr.strip().splitlines()[-1]
    rss_kb = int(tail.split("RSS_KB=")[1].split()[0])
    secs = float(tail.split("SECONDS=")[1])
    return secs, rss_kb // 1024, proc.stdout


def generate(out: Path, n: int, seed: int, days: int = 365, end: str = "2026-11-24") -> Path:
    if not (out / "interactions.csv").exists():
        subprocess.run([sys.executable, "-m", "csqa.pipeline.cli", "generate", "--out", str(out), "--interactions",
                        str(n),
                        "--seed", str(seed), "--days", str(days), "--end", end, "--no-messages"],
                       check=True, cwd=ROOT, capture_output=True)
    return out / "interactions.csv"
