from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from csqa.pipeline.config import load_config
from csqa.pipeline.synth.generate import generate

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch, tmp_path):
    # never pick up a developer's own config, warehouse or key
    monkeypatch.delenv("CSQA_CONFIG", raising=False)
    monkeypatch.delenv("CSQA_DB", raising=False)
    monkeypatch.setenv("CSQA_PSEUDONYM_KEY", "test-key-not-secret")
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def config():
    return load_config(ROOT / "pipeline" / "default_config.toml")


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "wh" / "csqa.duckdb"


@pytest.fixture(scope="session")
def sample_wh(tmp_path_factory) -> Path:
    """A warehouse loaded from sample_data/, shared read-only by the dashboard tests (copy it to change it)."""
    from csqa.pipeline.ingest.load import load

    db = tmp_path_factory.mktemp("sample_wh") / "csqa.duckdb"
    mp = pytest.MonkeyPatch()
    mp.setenv("CSQA_PSEUDONYM_KEY", "dash")
    try:
        load([SAMPLE], db, load_config(ROOT / "pipeline" / "default_config.toml"))
    finally:
        mp.undo()
    return db


@pytest.fixture(scope="session")
def small_set(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("small")
    generate(out, n=1500, days=21, seed=5)
    return out


@pytest.fixture(scope="session")
def dirty_set(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dirty")
    generate(out, n=1200, days=14, seed=9, dirty_rate=0.1, messages=False)
    return out


@pytest.fixture
def copy_of(tmp_path):
    def _copy(src: Path, name: str = "in") -> Path:
        dst = tmp_path / name
        shutil.copytree(src, dst)
        return dst
    return _copy


def query(db: Path, sql: str, params=None):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


INTERACTION_HEADER = (
    "interaction_id,channel,created_at,first_response_at,resolved_at,status,priority,customer_id,"
    "agent_id,team,language,region,topic,subject,first_message,handled_by_bot,reopen_count,updated_at"
)


def interaction_row(iid="I1", *, channel="web_chat", created="2026-11-02T09:00:00Z",
                    first="2026-11-02T09:02:00Z", resolved="2026-11-02T09:30:00Z", status="closed",
                    priority="normal", customer="u1", agent="a1", team="t", language="en", region="US",
                    topic="withdrawal", subject="", message="hello", bot="false", reopen="0",
                    updated=None) -> str:
    if updated is None:  # the latest timestamp the row carries
        updated = max(t for t in (created, first, resolved) if t)
    vals = [iid, channel, created, first, resolved, status, priority, customer, agent, team, language,
            region, topic, subject, message, bot, reopen, updated]
    return ",".join(f'"{v}"' if ("," in v or "\n" in v or "\r" in v) else v for v in vals)
