"""Architecture held by a checker: the pipeline never imports the UI; the code passes ruff."""

import ast
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

# the installed names (pyproject.toml maps pipeline/ to csqa.pipeline, dashboard/ to csqa.dashboard);
# "dashboard" stays listed so that an import written against the old top-level name is caught too
FORBIDDEN_IN_PIPELINE = {"streamlit", "plotly", "csqa.dashboard", "dashboard"}


def imports(path, package="csqa.pipeline"):
    """Every module a file imports, as an absolute name (relative imports resolved against ``package``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(x for x in (base, node.module) if x)
            yield module
            yield from (f"{module}.{a.name}" for a in node.names)  # `from csqa import dashboard`


def forbidden(names):
    return {n for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN_IN_PIPELINE)}


@pytest.mark.parametrize("path", sorted((ROOT / "pipeline").glob("*.py")), ids=lambda p: p.name)
def test_pipeline_does_not_import_the_ui(path):
    assert not forbidden(imports(path))


def test_the_import_rule_sees_every_spelling(tmp_path):
    """The checker above catches the UI however it is imported, relative imports included."""
    for line in ["import streamlit as st", "from plotly import express", "from csqa.dashboard import data",
                 "from csqa import dashboard", "from ..dashboard.data import load", "from .. import dashboard",
                 "import csqa.dashboard.data as d", "from dashboard.data import load"]:
        f = tmp_path / "x.py"
        f.write_text(line + "\n")
        assert forbidden(imports(f)), line
    f.write_text("from .warehouse import connect\nfrom csqa.pipeline.config import Config\nimport duckdb\n")
    assert not forbidden(imports(f))


def test_no_old_top_level_import_names():
    """Nothing refers to the pre-rename import names `pipeline` / `dashboard` (after merging a branch written
    against them, run `python3 scripts/rename_imports.py`)."""
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "rename_imports.py"), "--check"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


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
