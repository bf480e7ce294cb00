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
    secs, rss, _cpu, summary = csqa_measured(*args, env=env)
    return secs, rss, summary


def csqa_measured(*args: str, env: dict | None = None) -> tuple[float, int, float, dict]:
    """``csqa``'s figures and its CPU seconds: wall seconds, peak RSS in MiB, CPU seconds, the --json summary."""
    secs, rss, cpu, out = run_measured([sys.executable, "-m", "csqa.pipeline.cli", *args, "--json"], env=env)
    return secs, rss, cpu, json.loads(out.strip().splitlines()[-1])


def run_tracked(args: list[str], env: dict | None = None) -> tuple[float, int, str]:
    """Like run(), with the child's own peak RSS (via a tiny wrapper that reports getrusage of its child)."""
    secs, rss, _cpu, out = run_measured(args, env)
    return secs, rss, out


def run_measured(args: list[str], env: dict | None = None) -> tuple[float, int, float, str]:
    """``run_tracked``'s figures and the child's CPU seconds (user and system, every thread): wall seconds, peak
    RSS in MiB, CPU seconds, stdout."""
    wrapper = ("import resource,subprocess,sys,time;t=time.perf_counter();"
               "p=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
               "sys.stdout.write(p.stdout);sys.stderr.write(p.stderr);"
               "u=resource.getrusage(resource.RUSAGE_CHILDREN);"
               "sys.stderr.write('\\nRSS_KB=%d SECONDS=%f CPU=%f\\n'%(u.ru_maxrss,"
               "time.perf_counter()-t,u.ru_utime+u.ru_stime));sys.exit(p.returncode)")
    proc = subprocess.run([sys.executable, "-c", wrapper, *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=ROOT)
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    tail = proc.stderr.strip().splitlines()[-1]
    rss_kb = int(tail.split("RSS_KB=")[1].split()[0])
    secs = float(tail.split("SECONDS=")[1].split()[0])
    cpu = float(tail.split("CPU=")[1])
    return secs, rss_kb // 1024, cpu, proc.stdout


def generate(out: Path, n: int, seed: int, days: int = 365, end: str = "2026-11-24", messages: bool = False) -> Path:
    """The generator's files for ``n`` interactions in ``out`` (kept: generated once); without message events
    unless ``messages``. Returns the interactions file."""
    if not (out / "interactions.csv").exists():
        subprocess.run([sys.executable, "-m", "csqa.pipeline.cli", "generate", "--out", str(out), "--interactions",
                        str(n), "--seed", str(seed), "--days", str(days), "--end", end,
                        *([] if messages else ["--no-messages"])],
                       check=True, cwd=ROOT, capture_output=True)
    return out / "interactions.csv"


B77 = ROOT.parent / "shared" / "datasets" / "banking77" / "train.csv"


def faq_inputs(questions: int):
    """The FAQ benchmarks' inputs: the generator's published articles; ``questions`` texts, BANKING77's (or the
    generator's when the data set is absent) repeated and made unique with a suffix, so de-duplication does not
    flatter a figure; and agents' tags, 20% of BANKING77 (an empty frame without it)."""
    import tempfile

    import pandas as pd

    from csqa.pipeline.synth.generate import generate as generate_data

    with tempfile.TemporaryDirectory() as tmp:
        generate_data(Path(tmp), n=2000, days=14, seed=3, messages=False)
        arts = pd.read_csv(Path(tmp) / "faq_articles.csv", dtype=str, keep_default_na=False)
        base = (pd.read_csv(B77).text.tolist() if B77.exists()
                else pd.read_csv(Path(tmp) / "interactions.csv", dtype=str).first_message.tolist())
    texts = [f"{base[i % len(base)]} (ref {i})" for i in range(questions)]
    tagged = pd.DataFrame()
    if B77.exists():
        b = pd.read_csv(B77).sample(frac=0.2, random_state=0)
        tagged = pd.DataFrame({"question": b.text, "topic": b.category})
    return arts[arts.status == "published"], texts, tagged
