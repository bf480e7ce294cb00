"""csqa as a real package, not only from its checkout: the sdist and the wheel (built from the sdist by
`python -m build`) carry everything a run needs, and the wheel, installed into a clean virtualenv outside the
checkout, generates, loads, checks, queries and serves the dashboard from a temporary directory, even with
other distributions' top-level `pipeline` and `dashboard` packages installed beside it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
# folder in the repository -> where it lives in the installed package, and what a run reads from it
SHIPPED = {"pipeline": ("csqa/pipeline", ["**/*.py", "**/*.toml"]),
           "dashboard": ("csqa/dashboard", ["**/*.py"]),
           "sql": ("csqa/sql", ["**/*.sql", "README.md", "__init__.py"])}


def repo_files(folder: str, patterns: list[str]) -> set[str]:
    return {p.relative_to(ROOT / folder).as_posix() for pat in patterns for p in (ROOT / folder).glob(pat)
            if "__pycache__" not in p.parts}


def clean_env(**extra) -> dict[str, str]:
    """The caller's environment without anything that would point Python or csqa at the checkout."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "CSQA_CONFIG", "CSQA_DB", "CSQA_PSEUDONYM_KEY"}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], cwd=out,
                       capture_output=True, text=True, env=clean_env())
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory):
    """A fresh virtualenv (outside the checkout) with the wheel installed, and two impostors: other
    distributions' top-level `pipeline` and `dashboard` packages, which must not matter to csqa."""
    home = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", str(home)], check=True, capture_output=True)
    wheel = next(dist.glob("csqa-*.whl"))
    r = subprocess.run([str(home / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-compile",
                        "-c", str(ROOT / "constraints.txt"), str(wheel)],
                       capture_output=True, text=True, env=clean_env())
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(subprocess.run([str(home / "bin" / "python"), "-c", purelib], capture_output=True, text=True,
                               check=True).stdout.strip())
    for name in ("pipeline", "dashboard"):
        (site / name).mkdir()
        (site / name / "__init__.py").write_text(f"IMPOSTOR = True  # another distribution's {name!r}\n")
    yield home
    shutil.rmtree(home, ignore_errors=True)  # ~0.9 GB; pytest would keep it with the last three runs' temp dirs


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """The current directory of every command: a temporary directory, not the checkout."""
    return tmp_path_factory.mktemp("cwd")


def run(venv: Path, work: Path, *args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([str(venv / "bin" / "csqa"), *map(str, args)], cwd=work, env=clean_env(),
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def loaded(venv, work) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    gen = run(venv, work, "generate", "--out", "d", "--interactions", 500)
    load = run(venv, work, "load", "d", "--db", "w.duckdb", "--json")
    return gen, load


def test_wheel_and_sdist_carry_the_sql_config_and_dashboard(dist):
    wheel = next(dist.glob("csqa-*.whl"))
    sdist = next(dist.glob("csqa-*.tar.gz"))
    names = set(zipfile.ZipFile(wheel).namelist())
    with tarfile.open(sdist) as tar:
        members = {m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile()}
    for folder, (target, patterns) in SHIPPED.items():
        files = repo_files(folder, patterns)
        assert files, folder
        assert {f"{target}/{f}" for f in files} <= names, folder
        assert {f"{folder}/{f}" for f in files} <= members, folder
    for needed in ["csqa/sql/migrations/001_base.sql", "csqa/pipeline/default_config.toml",
                   "csqa/dashboard/app.py", "csqa/dashboard/views/overview.py"]:
        assert needed in names
    # one top-level import name: nothing another distribution's `pipeline` or `dashboard` could collide with
    assert {n.split("/")[0] for n in names} == {"csqa", f"csqa-{VERSION}.dist-info"}


def test_version_is_the_installed_one(venv, work):
    r = run(venv, work, "--version")
    assert (r.returncode, r.stdout.strip()) == (0, f"csqa {VERSION}")


def test_the_installed_code_is_used_not_the_checkout(venv, work):
    r = subprocess.run([str(venv / "bin" / "python"), "-c",
                        "import importlib, importlib.util as u, json\n"
                        "print(json.dumps([u.find_spec(m).origin for m in ('csqa.pipeline', 'csqa.dashboard', "
                        "'csqa.sql')] + [importlib.import_module(m).IMPOSTOR for m in ('pipeline', 'dashboard')]))"],
                       cwd=work, env=clean_env(), capture_output=True, text=True, check=True)
    *origins, imp1, imp2 = json.loads(r.stdout)
    assert imp1 is imp2 is True  # the impostors are what importing those two names finds here
    for origin in origins:
        assert Path(origin).is_relative_to(venv), origin
        assert not Path(origin).is_relative_to(ROOT), origin


def test_generate_and_load_from_a_temporary_directory(loaded, work):
    gen, load = loaded
    assert gen.returncode == 0, gen.stderr
    assert load.returncode == 0, load.stderr
    summary = json.loads(load.stdout)
    assert (work / "w.duckdb").exists()
    assert "interactions" in json.dumps(summary)


def test_check_passes_on_the_loaded_warehouse(loaded, venv, work):
    r = run(venv, work, "check", "--db", "w.duckdb")
    assert r.returncode == 0, r.stdout + r.stderr
    assert " 0 failed" in r.stdout


def test_sql_reads_what_was_loaded(loaded, venv, work):
    r = run(venv, work, "sql", "select count(*) as n from marts.fct_interactions", "--db", "w.duckdb", "--csv")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["n", "500"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dashboard_serves_from_any_directory(loaded, venv, work):
    port = free_port()
    proc = subprocess.Popen([str(venv / "bin" / "csqa"), "dashboard", "--db", "w.duckdb", "--port", str(port)],
                            cwd=work, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline, body = time.time() + 90, None
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as resp:
                    body = resp.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert body == "ok", f"no health answer; exit code {proc.poll()}"
    finally:
        proc.terminate()
        try:
            out = proc.communicate(timeout=20)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            proc.kill()
            out = proc.communicate()[0].decode(errors="replace")
    assert "Traceback" not in out, out[-3000:]


INSTALLED_PAGES = """
import importlib.util, json, pathlib
from streamlit.testing.v1 import AppTest
app = pathlib.Path(importlib.util.find_spec("csqa.dashboard").origin).parent / "app.py"
out = {}
for page in [None, *sorted(p.name for p in (app.parent / "views").glob("*.py"))]:
    at = AppTest.from_file(str(app), default_timeout=120)
    if page:
        at.switch_page(f"views/{page}")
    at.run()
    out[page or "app"] = [e.message for e in at.exception] + [e.value for e in at.error]
print(json.dumps(out))
"""


def test_every_installed_dashboard_page_renders(loaded, venv, work):
    """The pages ship with the wheel and import from the installed package (no checkout on the path)."""
    r = subprocess.run([str(venv / "bin" / "python"), "-c", INSTALLED_PAGES], cwd=work, capture_output=True,
                       text=True, env=clean_env(CSQA_DB=str(work / "w.duckdb")), timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    pages = json.loads(r.stdout.strip().splitlines()[-1])
    assert len(pages) == 1 + len(list((ROOT / "dashboard" / "views").glob("*.py")))
    assert all(v == [] for v in pages.values()), pages


# ---- the pinned environment (constraints.txt) -----------------------------------------------------------------

def _pins() -> dict[str, str]:
    from packaging.utils import canonicalize_name

    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: not an exact pin: {line!r}"
            pins[canonicalize_name(name)] = version.strip()
    return pins


def test_constraints_pin_every_requirement_within_pyproject_s_ranges():
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["test"]]]
    pins = _pins()
    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not pinned in constraints.txt (scripts/update_constraints.sh)"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req.name}=={pins[name]} is not {req}"


def test_the_environment_the_tests_run_in_is_the_pinned_one():
    """scripts/bootstrap.sh (the README's commands, CI) installs with -c constraints.txt: what runs the tests is
    the set pinned there, not whatever the package index offered that day."""
    from importlib.metadata import distributions

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = _pins()
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in distributions()}
    # (a pin another platform does not install, e.g. watchdog off Linux, is not a difference)
    differ = {n: (v, installed[n]) for n, v in pins.items() if n in installed and installed[n] != v}
    assert not differ, f"pinned vs installed (re-run scripts/bootstrap.sh --test): {differ}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    direct = {canonicalize_name(Requirement(r).name)
              for r in [*project["dependencies"], *project["optional-dependencies"]["test"]]}
    assert direct <= installed.keys(), direct - installed.keys()
