"""Dashboard benchmark in a real browser: how long until each page is ready in Chromium.

    csqa generate --out /tmp/wh-src --interactions 1000000 --format parquet
    csqa load /tmp/wh-src --db /tmp/wh.duckdb
    python benchmarks/bench_dashboard_browser.py --db /tmp/wh.duckdb

"Ready" = no running indicator, no stale (greyed) element, the footer ("Data last loaded") shown, every
plotly chart drawn, held for two polls in a row (50 ms apart). For each page, in this order:
  - first visit: a new browser context (no browser cache) right after the server started (Streamlit's data
    cache empty);
  - second visit: a new tab (a new Streamlit session) in the same browser context on the warm server (the
    browser holds Streamlit's scripts, the server's cache the page's queries);
  - filter change (overview and response times): a channel picked in the sidebar, until redrawn.
Goals (issue 12, on 10M interactions): second visit <= 1.5 s, first visit <= 2.5 s, filter change <= 0.5 s.
This is a benchmark, not a test: it prints figures and never fails on them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PAGES = ["", "response_times", "satisfaction", "agents", "faq_gaps", "data_quality", "conversations"]
READY_JS = """() => {
    if (document.querySelector('[data-testid^="stStatusWidgetRunning"]')
        || document.querySelector('[data-stale="true"]')
        || document.querySelector('[data-testid="stSkeleton"]')) return false;
    const foot = [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
        .some(e => e.innerText.includes('Data last loaded'));
    if (!foot) return false;
    const plots = [...document.querySelectorAll('.js-plotly-plot')];
    return plots.every(p => p.querySelector('.main-svg'));
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(db: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "csqa.pipeline.cli", "dashboard", "--db", db, "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200:
                return proc, url
        except OSError:
            time.sleep(0.25)
    proc.kill()
    raise SystemExit("the dashboard did not start")


def wait_ready(page, t0: float, timeout: float = 120) -> float:
    held = 0
    while time.perf_counter() - t0 < timeout:
        if page.evaluate(READY_JS):
            held += 1
            if held == 2:
                return time.perf_counter() - t0 - 0.05  # the second poll only confirms the first
        else:
            held = 0
        page.wait_for_timeout(50)
    return float("nan")


def visit(ctx, url: str) -> float:
    page = ctx.new_page()
    try:
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_timeout(300)  # let the first script run begin before polling for "ready"
        return wait_ready(page, t0)
    finally:
        page.close()


def filter_change(ctx, url: str) -> float:
    page = ctx.new_page()
    try:
        page.goto(url, wait_until="commit")
        wait_ready(page, time.perf_counter())
        page.locator('[data-testid="stMultiSelect"]').first.click()
        option = page.get_by_role("option").nth(1)
        t0 = time.perf_counter()
        option.click()
        page.wait_for_timeout(150)  # the rerun starts
        took = wait_ready(page, t0)
        page.keyboard.press("Escape")
        return took
    finally:
        page.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args()
    os.environ.setdefault("CSQA_PSEUDONYM_KEY", "bench")
    import duckdb
    from playwright.sync_api import sync_playwright

    from benchmarks.common import machine

    con = duckdb.connect(args.db, read_only=True)
    n = con.execute("select count(*) from marts.fct_interactions").fetchone()[0]
    con.close()
    print(f"machine: {machine()}; warehouse: {args.db} ({n:,} interactions); repeat {args.repeat}")
    first: dict[str, list[float]] = {p: [] for p in PAGES}
    second: dict[str, list[float]] = {p: [] for p in PAGES}
    change: dict[str, list[float]] = {"": [], "response_times": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium,
                                     args=["--headless", "--no-sandbox", "--disable-gpu"])
        for _ in range(args.repeat):
            for p in PAGES:  # a fresh server for each first visit: the cache is empty
                proc, url = start(args.db)
                ctx = browser.new_context(viewport={"width": 1440, "height": 900})
                try:
                    first[p].append(visit(ctx, f"{url}/{p}"))
                    second[p].append(visit(ctx, f"{url}/{p}"))
                    if p in change:
                        change[p].append(filter_change(ctx, f"{url}/{p}"))
                finally:
                    ctx.close()
                    proc.terminate()
                    proc.wait(timeout=30)
        browser.close()
    print(f"\n{'page':<18}{'first visit s':>15}{'second visit s':>16}{'filter change s':>17}"
          f"   (median of {args.repeat})")
    for p in PAGES:
        ch = f"{statistics.median(change[p]):17.2f}" if p in change else f"{'–':>17}"
        print(f"{p or 'overview':<18}{statistics.median(first[p]):15.2f}{statistics.median(second[p]):16.2f}{ch}")


if __name__ == "__main__":
    main()
