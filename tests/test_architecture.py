"""Architecture held by a checker: the pipeline never imports the UI; the code passes ruff."""

import ast
import importlib.util
import re
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


def package_of(path):
    """csqa.pipeline for pipeline/x.py, csqa.pipeline.ingest for pipeline/ingest/x.py, …"""
    return ".".join(["csqa", *path.parent.relative_to(ROOT).parts])


@pytest.mark.parametrize("path", sorted((ROOT / "pipeline").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT / "pipeline")))
def test_pipeline_does_not_import_the_ui(path):
    assert not forbidden(imports(path, package_of(path)))


def test_the_import_rule_sees_every_spelling(tmp_path):
    """The checker above catches the UI however it is imported, relative imports included."""
    for line in ["import streamlit as st", "from plotly import express", "from csqa.dashboard import data",
                 "from csqa import dashboard", "from ..dashboard.data import load", "from .. import dashboard",
                 "import csqa.dashboard.data as d", old_names("from DASHBOARD.data import load")]:
        f = tmp_path / "x.py"
        f.write_text(line + "\n")
        assert forbidden(imports(f)), line
    f.write_text("from .warehouse import connect\nfrom csqa.pipeline.config import Config\nimport duckdb\n")
    assert not forbidden(imports(f))
    # a module one stage down (pipeline/ingest/x.py) reaches the UI with one more dot
    f.write_text("from ...dashboard import data\n")
    assert forbidden(imports(f, "csqa.pipeline.ingest"))
    assert package_of(ROOT / "pipeline" / "ingest" / "load.py") == "csqa.pipeline.ingest"


def test_no_old_top_level_import_names():
    """Nothing refers to the pre-rename import names `pipeline` / `dashboard` (after merging a branch written
    against them, run `python3 scripts/rename_imports.py`)."""
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "rename_imports.py"), "--check"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


PACKAGE_CODE = sorted([*(ROOT / "pipeline").rglob("*.py"), *(ROOT / "dashboard").rglob("*.py")])


@pytest.mark.parametrize("path", PACKAGE_CODE, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_package_code_never_walks_up_to_the_checkout(path):
    """Installed from a wheel there is no checkout above the package: files are found with importlib.resources
    (sql/ is the package csqa.sql), by import spec, or beside the module's own file, never via ``.parent.parent``."""
    text = path.read_text(encoding="utf-8")
    assert ".parent.parent" not in text and ".parents[" not in text


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


def old_names(text: str) -> str:
    return text.replace("PIPELINE", "pipeline").replace("DASHBOARD", "dashboard")


def test_rename_script_rewrites_old_names_once():
    """scripts/rename_imports.py (re-run by whoever merges a branch written against the old names) rewrites
    imports, module strings and `-m` commands, leaves paths and file names alone, and is idempotent."""
    spec = importlib.util.spec_from_file_location("rename_imports", ROOT / "scripts" / "rename_imports.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    # written in capitals so that the script's own --check does not see old names here
    before = old_names(
        "from PIPELINE.load import load\n"
        "from DASHBOARD import data\n"
        "import PIPELINE\n"
        "    import PIPELINE.config as cfg\n"
        'run([sys.executable, "-m", "PIPELINE.cli", "load"])\n'
        'cmd = f"{sys.executable} -m PIPELINE.cli"\n'
        'patch("DASHBOARD.data.connect")\n'
        'app = ROOT / "DASHBOARD" / "app.py"; cfg = "PIPELINE/default_config.toml"; f = "DASHBOARD.py"\n'
        "from csqa.PIPELINE.checks import run_checks\n"
        + "x = call([sys.executable, '-m', 'PIPELINE.cli', 'generate', '--out', str(out), '--interactions', n,"
          " '--days', 9], check=True)\n"
    )
    after = script.rewrite(before, python=True)
    assert after.splitlines()[:9] == [
        "from csqa.pipeline.load import load",
        "from csqa.dashboard import data",
        "from csqa import pipeline",
        "    import csqa.pipeline.config as cfg",
        'run([sys.executable, "-m", "csqa.pipeline.cli", "load"])',
        'cmd = f"{sys.executable} -m csqa.pipeline.cli"',
        'patch("csqa.dashboard.data.connect")',
        'app = ROOT / "dashboard" / "app.py"; cfg = "pipeline/default_config.toml"; f = "dashboard.py"',
        "from csqa.pipeline.checks import run_checks",
    ]
    wrapped = after.splitlines()[9:]
    assert len(wrapped) == 2 and all(len(line) <= 120 for line in wrapped)
    assert wrapped[1] == " " * len("x = call(") + "check=True)" and ast.parse("\n".join(wrapped))
    assert script.rewrite(after, python=True) == after
    dotted = old_names('def test(monkeypatch):\n    """Data flows\n    from PIPELINE to DASHBOARD."""\n'
                       "    import PIPELINE.nightly\n"
                       "    monkeypatch.setattr(PIPELINE.nightly, 'load', None)  # not mypipeline.nightly\n"
                       "msg = f'use `from PIPELINE import connect`'\n"
                       "c = \"from PIPELINE.cli import main\"  # from DASHBOARD import data; from PIPELINE to x\n"
                       "CODE = 'import os, sys, PIPELINE.load as L; from PIPELINE.cli import main'\n"
                       "import json, DASHBOARD, DASHBOARD.data\nDASHBOARD.data.x = DASHBOARD.y\n")
    assert script.rewrite(script.rewrite(dotted, python=True), python=True) == script.rewrite(dotted, python=True)
    assert script.rewrite(dotted, python=True) == (
        'def test(monkeypatch):\n    """Data flows\n    from pipeline to dashboard."""\n'
        "    import csqa.pipeline.nightly\n"
        "    monkeypatch.setattr(csqa.pipeline.nightly, 'load', None)  # not mypipeline.nightly\n"
        "msg = f'use `from csqa.pipeline import connect`'\n"
        "c = \"from csqa.pipeline.cli import main\"  # from csqa.dashboard import data; from pipeline to x\n"
        "CODE = 'import os, sys, csqa.pipeline.load as L; from csqa.pipeline.cli import main'\n"
        "import json, csqa.dashboard as dashboard, csqa.dashboard.data\ncsqa.dashboard.data.x = dashboard.y\n")
    markdown = old_names("see `PIPELINE.load`; run python -m PIPELINE.cli\nfrom PIPELINE to marts\n"
                         "```python\nfrom PIPELINE import connect  # a notebook\n>>> import PIPELINE  # old\n```\n"
                         "from PIPELINE to the dashboard\n")
    assert script.rewrite(markdown, markdown=True) == (
        "see `csqa.pipeline.load`; run python -m csqa.pipeline.cli\nfrom pipeline to marts\n"
        "```python\nfrom csqa.pipeline import connect  # a notebook\n>>> from csqa import pipeline  # old\n```\n"
        "from pipeline to the dashboard\n")


def test_every_relative_link_in_the_docs_resolves():
    """A link in README.md, docs/*.md or sql/README.md to a file of the checkout names one that exists (two links of
    DATA_CONTRACT.md pointed at pipeline/*.py after the package was grouped by stage: a new user's review)."""
    pages = [ROOT / "README.md", ROOT / "sql" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a web address, a mail address, an anchor on the same page
            if not (page.parent / target.split("#")[0]).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert len(pages) >= 10 and not broken, broken
