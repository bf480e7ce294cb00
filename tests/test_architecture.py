"""Architecture held by a checker: the pipeline never imports the UI; the code passes ruff."""

import ast
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

FORBIDDEN_IN_PIPELINE = {"streamlit", "plotly", "dashboard"}


def imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0]


@pytest.mark.parametrize("path", sorted((ROOT / "pipeline").glob("*.py")), ids=lambda p: p.name)
def test_pipeline_does_not_import_the_ui(path):
    assert not set(imports(path)) & FORBIDDEN_IN_PIPELINE


def test_dashboard_never_writes():
    """The dashboard opens the warehouse read-only only."""
    for path in (ROOT / "dashboard").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "duckdb.connect(" in text:
            assert "read_only=True" in text, path


@pytest.mark.skipif(shutil.which("ruff") is None and not (ROOT / ".venv" / "bin" / "ruff").exists(),
                    reason="ruff is installed with the test extras")
def test_ruff_is_clean():
    r = subprocess.run([sys.executable, "-m", "ruff", "check", "pipeline", "dashboard", "tests", "benchmarks"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
