"""End to end in a real browser: `csqa dashboard` serves the sample warehouse, headless Chromium opens
every page, charts render, no error element shows. Screenshots are kept in test-artifacts/."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
PAGES = [  # url path, a text the page must show, whether it has plotly charts
    ("", "Contacts per day by channel", True),
    ("response_times", "First response by channel", True),
    ("satisfaction", "Satisfied share by week", True),
    ("faq_gaps", "Ranked FAQ backlog", True),
    ("data_quality", "Last loads", True),
    ("conversations", "interactions shown", False),
]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (scripts/install_browser.sh); CI always runs this test",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    db = tmp / "csqa.duckdb"
    env = {**os.environ, "CSQA_PSEUDONYM_KEY": "e2e"}
    subprocess.run([sys.executable, "-m", "csqa.pipeline.cli", "load", str(SAMPLE), "--db", str(db)], check=True,
                   env=env, capture_output=True)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "csqa.pipeline.cli", "dashboard", "--db", str(db), "--port",
                             str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        out = proc.stdout.read().decode()[-2000:]
        proc.stdout.close()
        raise RuntimeError("the dashboard did not start: " + out)
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    proc.stdout.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@contextmanager
def opened(browser, url: str, text: str, shot: str):
    """A page at ``url`` once ``text`` shows; on leaving, no error element may show, and a screenshot is kept."""
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    try:
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_text(text, exact=False).first.wait_for(timeout=45_000)
        yield page
        page.wait_for_timeout(1500)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0
        page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
    finally:
        page.close()


@pytest.mark.parametrize(("path", "text", "has_chart"), PAGES, ids=[p[0] or "overview" for p in PAGES])
def test_page_renders_in_a_real_browser(server, browser, path, text, has_chart):
    with opened(browser, f"{server}/{path}", text, path or "overview") as page:
        if has_chart:
            page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
            assert page.locator(".js-plotly-plot").count() >= 1


def test_filters_live_in_the_url(server, browser):
    url = f"{server}/?channel=email&start=2026-11-01&end=2026-11-24&lang=zh"
    with opened(browser, url, "咨询量", "overview_zh_email") as page:
        assert "channel=email" in page.url and "lang=zh" in page.url


def test_clicking_a_bar_opens_the_conversations_behind_it(server, browser):
    with opened(browser, f"{server}/?channel=email", "Contacts per day by channel", "drill_down") as page:
        bar = page.locator(".js-plotly-plot .bars path").first
        bar.wait_for(timeout=30_000)
        page.wait_for_timeout(1000)
        bar.click(force=True)
        page.get_by_text("Showing the conversations behind", exact=False).first.wait_for(timeout=45_000)
        assert "/conversations" in page.url and "drill_day=" in page.url and "drill_channel=email" in page.url
        page.get_by_text("Data last loaded", exact=False).first.wait_for(timeout=30_000)
        page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=30_000)
