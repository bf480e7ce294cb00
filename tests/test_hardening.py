"""Issue 13: analysts' SQL really read-only, no stale snapshot, one lock for every writer, failures cron hears,
a lock message that names the reader. Real processes and real DuckDB files throughout."""

import contextlib
import csv
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from csqa.pipeline import cli
from csqa.pipeline.ingest.load import load
from csqa.pipeline.ops.snapshots import publish, reader_path, snapshot_batch, snapshot_dir
from tests.conftest import SAMPLE


def csqa(*args, env=None, timeout=300, **kw):
    return subprocess.run([sys.executable, "-m", "csqa.pipeline.cli", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout, **kw)


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    """A warehouse with a published snapshot, a key file beside it, and a second database (a copy)."""
    home = tmp_path_factory.mktemp("hard")
    db = home / "wh" / "csqa.duckdb"
    mp = pytest.MonkeyPatch()
    mp.setenv("CSQA_PSEUDONYM_KEY", "hard")
    from csqa.pipeline.config import load_config
    from tests.conftest import ROOT
    load([SAMPLE / "faq_articles.csv", SAMPLE / "csat_surveys.csv"], db,
         load_config(ROOT / "pipeline" / "default_config.toml"))
    mp.undo()
    db.with_name("csqa.duckdb.key").write_text("THE-PSEUDONYM-KEY-0123456789")
    copy = home / "copy.duckdb"
    shutil.copyfile(db, copy)
    return db


def sql(db, query, *extra, capsys):
    code = cli.main(["sql", query, "--db", str(db), *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def rows(db, query):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


# ---- 1. csqa sql is read-only in practice -------------------------------------------------------------------

def attacks(db: Path, tmp: Path) -> list[str]:
    copy = db.parent.parent / "copy.duckdb"
    older = snapshot_dir(db) / "older.duckdb"
    shutil.copyfile(reader_path(db), older)
    return [
        f"attach '{copy}' as w (read_only false)",
        f"attach '{older}' as w",
        f"attach '{tmp / 'new.duckdb'}' as n",
        f"copy (select * from raw.faq_articles) to '{tmp / 'out.csv'}'",
        f"copy (select 1) to '{snapshot_dir(db) / 'x.duckdb'}'",
        f"export database '{tmp / 'dump'}'",
        "select * from read_csv('/etc/passwd')",
        f"select * from read_text('{db.with_name('csqa.duckdb.key')}')",
        "select * from read_text('csqa.duckdb.key')",
        "select * from glob('/etc/*')",
        "install httpfs",
        "load httpfs",
        "set enable_external_access = true",
        "set lock_configuration = false",
        "reset lock_configuration",
        "set allowed_directories = ['/']",
        "create table raw.evil as select 1",
        "delete from raw.faq_articles",
    ]


def test_sql_refuses_every_write_and_host_file_with_a_clear_message(wh, tmp_path, capsys):
    copy = wh.parent.parent / "copy.duckdb"
    before = rows(copy, "select count(*) from raw.faq_articles")
    for attack in attacks(wh, tmp_path):
        code, out, err = sql(wh, attack, capsys=capsys)
        assert code == 2, attack
        assert err.startswith("csqa: DuckDB refused the query.\n"), (attack, err)
        assert "Traceback" not in err
        assert "THE-PSEUDONYM-KEY" not in out + err
        assert "root:" not in out
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written anywhere
    assert not (snapshot_dir(wh) / "x.duckdb").exists()
    assert rows(copy, "select count(*) from raw.faq_articles") == before
    # the refusals say what to do instead
    _, _, err = sql(wh, "select * from read_csv('/etc/passwd')", capsys=capsys)
    assert "--export-dir" in err and "--csv" in err
    _, _, err = sql(wh, "create table raw.evil as select 1", capsys=capsys)
    assert "only csqa load / csqa nightly write" in err


def test_sql_writes_only_into_the_export_dir_and_csv_still_works(wh, tmp_path, capsys):
    exports = tmp_path / "exports"
    exports.mkdir()
    n = rows(reader_path(wh), "select count(*) from raw.faq_articles")[0][0]
    code, _, err = sql(wh, f"copy (select * from raw.faq_articles) to '{exports / 'faq.csv'}'",
                       "--export-dir", str(exports), capsys=capsys)
    assert code == 0, err
    with (exports / "faq.csv").open(newline="") as fh:
        assert len(list(csv.reader(fh))) == n + 1
    code, _, err = sql(wh, f"copy (select 1) to '{tmp_path / 'elsewhere.csv'}'", "--export-dir", str(exports),
                       capsys=capsys)
    assert code == 2 and f"only into {exports}" in err
    assert not (tmp_path / "elsewhere.csv").exists()
    code, _, err = sql(wh, f"select * from read_text('{exports}/../../wh/csqa.duckdb.key')",
                       "--export-dir", str(exports), capsys=capsys)
    assert code == 2 and "THE-PSEUDONYM-KEY" not in err
    # the warehouse's own folder (key, snapshots) can never be the export folder
    for folder in (wh.parent, wh.parent.parent):
        code, _, err = sql(wh, "select 1", "--export-dir", str(folder), capsys=capsys)
        assert code == 2 and "holds the warehouse folder" in err
    code, out, _ = sql(wh, "select count(*) as n from raw.faq_articles", "--csv", capsys=capsys)
    assert code == 0 and out.splitlines() == ["n", str(n)]


def test_a_db_path_naming_a_file_that_is_not_duckdb_is_refused_and_left_as_it_was(tmp_path):
    """DuckDB 2 opens a CSV file as a read-only database of one table: `--db export.csv` reported rows loaded,
    stored nothing and wrote snapshots of the CSV beside it. Now every command refuses it (exit 4, one line)."""
    target = tmp_path / "target.csv"
    shutil.copyfile(SAMPLE / "faq_articles.csv", target)
    before = target.read_bytes()
    for args in (["load", SAMPLE / "faq_articles.csv"], ["status"], ["sql", "select 1"], ["check"], ["refresh"]):
        r = csqa(*args, "--db", target)
        assert r.returncode == 4 and "is not a DuckDB database" in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target.csv"]  # not even a lock file beside it


def test_a_path_that_cannot_be_used_is_one_line_and_exit_2_not_a_traceback(wh, tmp_path):
    """Ordinary mistakes with paths ended in "internal error" and a traceback (exit 1): a --db under a file, a
    --db where nothing may be created, faq-gaps --out into a folder that does not exist."""
    (tmp_path / "o1").write_text("a file, not a folder")
    cases = [
        (["load", SAMPLE / "faq_articles.csv", "--db", tmp_path / "o1" / "wh.duckdb"], "a file is in the way"),
        (["load", SAMPLE / "faq_articles.csv", "--db", "/proc/csqa-test.duckdb"], "/proc/csqa-test.duckdb"),
        (["faq-gaps", "--db", wh, "--out", tmp_path / "missing" / "gaps.csv"], "non-existent directory"),
    ]
    for args, said in cases:
        r = csqa(*args)
        assert r.returncode == 2 and "Traceback" not in r.stderr and said in r.stderr, (args, r.stderr)
        assert r.stderr.startswith("csqa: A file or folder could not be used.\n") and r.stderr.count("\n") == 2


def test_no_warehouse_is_exit_4_with_the_same_words_for_every_command(tmp_path):
    missing = tmp_path / "missing.duckdb"
    for args in (["status"], ["check"], ["faq-gaps"], ["sql", "--print-path"], ["export", "--lake", tmp_path / "l"]):
        r = csqa(*args, "--db", missing)
        assert r.returncode == 4 and r.stderr.startswith("csqa: There is no warehouse yet.\n"), (args, r.stderr)
    assert not missing.exists() and not (tmp_path / "l").exists()


def test_output_into_a_pipe_closed_early_ends_quietly(wh):
    """`csqa sql ... | head -1`: the reader stops reading; csqa stops quietly (it said "A file or folder could not
    be used. Broken pipe", and before that printed a traceback)."""
    p = subprocess.Popen([sys.executable, "-m", "csqa.pipeline.cli", "sql", "select * from range(300000)", "--csv",
                          "--db", str(wh)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline() == b"range\n"
    p.stdout.close()
    with p.stderr:
        err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 0 and err == "", err


def _exports_left(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".export-"))


def test_an_export_that_fails_half_way_leaves_no_partial_lake_and_the_next_one_runs(sample_wh, tmp_path):
    """``csqa export --lake`` is all or nothing: a failure after the raw tables were written (here a warehouse
    whose quarantine table is gone: a DuckDB error once the raw tables are out) leaves neither a half lake (which
    refused every later export: "already holds a lake") nor its working folder."""
    from csqa.pipeline.errors import UsageError, WarehouseError
    from csqa.pipeline.ops.lake import export_lake

    broken = tmp_path / "broken.duckdb"
    shutil.copyfile(sample_wh, broken)
    con = duckdb.connect(str(broken))
    con.execute("drop table audit.quarantine")
    con.close()
    lake = tmp_path / "lake"
    with pytest.raises(WarehouseError, match="nothing was written there"):
        export_lake(broken, None, lake)
    assert not lake.exists()  # made by the export, removed with what it wrote
    lake.mkdir()  # a folder made for it: refused while it holds anything, taken when empty
    (lake / "readme.txt").write_text("mine")
    with pytest.raises(UsageError, match="is not empty"):
        export_lake(reader_path(sample_wh), None, lake)
    assert sorted(p.name for p in lake.iterdir()) == ["readme.txt"]
    (lake / "readme.txt").unlink()
    counts = export_lake(reader_path(sample_wh), None, lake)
    assert counts["interactions"] == rows(reader_path(sample_wh), "select count(*) from raw.interactions")[0][0] > 0
    assert (lake / "raw" / "interactions").is_dir() and _exports_left(lake) == []


def test_an_export_stopped_by_ctrl_c_leaves_no_partial_lake(sample_wh, tmp_path, monkeypatch):
    """A Ctrl-C (KeyboardInterrupt) at the export's last step, the key file's copy, once every table is written:
    nothing at the lake's path, the working folder removed, and a second export writes the whole lake."""
    import csqa.pipeline.ops.lake as lake_module

    key = tmp_path / "csqa.duckdb.key"
    key.write_text("dash")  # the key the sample warehouse's ids were made with (conftest; another is not copied)
    lake = tmp_path / "lake"

    def ctrl_c(*_a, **_k):
        raise KeyboardInterrupt

    with monkeypatch.context() as mp:
        mp.setattr(lake_module.shutil, "copyfile", ctrl_c)
        with pytest.raises(KeyboardInterrupt):
            lake_module.export_lake(reader_path(sample_wh), key, lake)
    assert not lake.exists()
    lake_module.export_lake(reader_path(sample_wh), key, lake)
    assert (lake / "lake.key").read_text() == "dash" and (lake / "audit" / "load_batches").is_dir()


def test_an_export_killed_before_it_cleaned_up_is_cleared_by_the_next(sample_wh, tmp_path):
    """kill -9 leaves the working folder (``<lake>/.export-<pid>``); the next export into that lake removes it when
    its process is gone, and refuses while a running export's folder is there."""
    from csqa.pipeline.errors import UsageError
    from csqa.pipeline.ops.lake import export_lake

    lake = tmp_path / "lake"
    running = lake / f".export-{os.getppid()}"  # a process that is alive: not ours to remove
    running.mkdir(parents=True)
    with pytest.raises(UsageError, match="being written by another export"):
        export_lake(reader_path(sample_wh), None, lake)
    running.rmdir()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = lake / f".export-{int(gone.stdout)}"
    (dead / "raw" / "interactions").mkdir(parents=True)
    (dead / "raw" / "interactions" / "part.parquet").write_bytes(b"half")
    export_lake(reader_path(sample_wh), None, lake)
    assert not dead.exists() and (lake / "raw" / "interactions").is_dir()
    assert sorted(p.name for p in lake.iterdir()) == ["audit", "quarantine", "raw"]


def test_an_export_goes_into_the_folder_given_as_it_is(sample_wh, tmp_path, monkeypatch):
    """Into ".", an empty folder with its own permissions: the folder stays the same folder (the working folder
    is inside it, so a mount point or a folder whose parent is not writable works too)."""
    from csqa.pipeline.ops.lake import export_lake

    lake = tmp_path / "prepared"
    lake.mkdir()
    lake.chmod(0o2770)
    inode = lake.stat().st_ino
    monkeypatch.chdir(lake)
    export_lake(reader_path(sample_wh), None, ".")
    assert lake.stat().st_ino == inode and (lake.stat().st_mode & 0o7777) == 0o2770
    assert Path("raw/interactions").is_dir() and Path("audit/load_batches").is_dir()

def test_the_sql_shell_is_locked_down_too(wh, tmp_path):
    r = csqa("sql", "--db", wh, input="select * from read_csv('/etc/passwd');\nset enable_external_access=true;\n"
                                      "select 40 + 2 as answer;\n", timeout=60)
    assert r.returncode == 0 and "42" in r.stdout
    assert r.stderr.count("error: the query failed:") == 2 and "root:" not in r.stdout
    assert "Permission Error" in r.stderr and "are locked for this session" in r.stderr


ENDLESS = "select count(*) from range(10000000000000) where hash(range) = 0"  # hours


def _ctrl_c_reaches() -> None:
    """A child's SIGINT as at a terminal (Popen's preexec_fn): a shell starts a background job, as CI may run these
    tests, with SIGINT ignored, and a process that inherits that never sees Ctrl-C (csqa leaves it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def ctrl_c_reaches_this_process():
    """The in-process counterpart of ``_ctrl_c_reaches``: Python's own SIGINT handler for the test's duration."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _reading(p: subprocess.Popen, path: Path, timeout: float = 120) -> None:
    """Wait until the process ``p`` has ``path`` open (its signal handlers are installed by then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and p.poll() is None:
        with contextlib.suppress(OSError):
            if any(fd.resolve() == path.resolve() for fd in Path(f"/proc/{p.pid}/fd").iterdir()):
                return
        time.sleep(0.05)
    raise AssertionError(f"{path} not opened by {p.args}")


def test_ctrl_c_ends_a_query_of_csqa_sql_with_exit_130_not_a_traceback(wh, tmp_path):
    """DuckDB raises its own error ("Query interrupted") for a Ctrl-C inside a statement, not KeyboardInterrupt:
    csqa reported it as an internal error, with a traceback. (That the watcher interrupts a reader's statement is
    proved by the shell's test below, where no handler raises during a statement.)"""
    p = subprocess.Popen([sys.executable, "-m", "csqa.pipeline.cli", "sql", ENDLESS, "--db", str(wh)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_ctrl_c_reaches)
    try:
        _reading(p, reader_path(wh))
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 128 + signal.SIGINT and err == "csqa: interrupted (Ctrl-C)\n" and not out


def test_ctrl_c_in_the_sql_shell_cancels_the_statement_not_the_shell(wh, tmp_path):
    """At a terminal, Ctrl-C cancels the running statement, each time, and drops a statement being typed; the shell
    goes on. A SIGTERM after them still ends it as a stop (143, not Ctrl-C's 130)."""
    import pty
    import termios

    out_file, err_file = tmp_path / "out", tmp_path / "err"
    master, terminal = pty.openpty()
    attrs = termios.tcgetattr(terminal)
    attrs[3] &= ~termios.ECHO  # what is typed is not echoed back into the pty, which nobody reads
    termios.tcsetattr(terminal, termios.TCSANOW, attrs)

    def type_in(text: str) -> None:
        os.write(master, text.encode())

    with out_file.open("w") as out, err_file.open("w") as err:
        p = subprocess.Popen([sys.executable, "-m", "csqa.pipeline.cli", "sql", "--db", str(wh)], stdin=terminal,
                             stdout=out, stderr=err, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                             preexec_fn=_ctrl_c_reaches)
    os.close(terminal)
    try:
        _reading(p, reader_path(wh))
        for n in (1, 2):
            type_in(ENDLESS + ";\n")
            deadline = time.monotonic() + 120
            while err_file.read_text().count("cancelled (Ctrl-C)") < n and time.monotonic() < deadline:
                time.sleep(0.5)  # the statement read and running: it is cancelled (a Ctrl-C before it drops nothing)
                p.send_signal(signal.SIGINT)
            time.sleep(0.5)
        type_in("select 40 + 2 as answer;\nselect 1 +\n")
        deadline = time.monotonic() + 60
        while "  ...> " not in out_file.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        p.send_signal(signal.SIGINT)  # drops "select 1 +"
        time.sleep(0.5)
        type_in("select 7 as seven;\n")
        deadline = time.monotonic() + 60
        while "seven" not in out_file.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        p.send_signal(signal.SIGTERM)
        p.wait(60)
    finally:
        if p.poll() is None:
            p.kill()
        os.close(master)
    out, err = out_file.read_text(), err_file.read_text()
    assert p.returncode == 128 + signal.SIGTERM and "Traceback" not in err and "error" not in err
    assert err.count("cancelled (Ctrl-C)") == 2 and "answer" in out and "seven" in out  # (the banner's path has digits)
    assert err.endswith("csqa: stopped (SIGTERM)\n")


def test_ctrl_c_ends_a_script_piped_into_the_sql_shell(wh, tmp_path):
    """Piped in, the statements are a script: Ctrl-C ends it with 130, as it ends a query, not only the statement
    that runs."""
    p = subprocess.Popen([sys.executable, "-m", "csqa.pipeline.cli", "sql", "--db", str(wh)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_ctrl_c_reaches)
    try:
        p.stdin.write(ENDLESS + ";\nselect 40 + 2 as answer;\n")
        p.stdin.flush()
        _reading(p, reader_path(wh))
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 128 + signal.SIGINT and "answer" not in out and err.endswith("csqa: interrupted (Ctrl-C)\n")


def test_the_dashboard_reads_through_the_same_locked_down_session(wh):
    from csqa.dashboard import data

    path = str(reader_path(wh))
    ok = data._cached.__wrapped__("select count(*) as n from raw.faq_articles", (), path, 0.0)
    assert int(ok.n.iloc[0]) > 0
    for attack in ("select * from read_text('/etc/passwd')", f"attach '{wh.parent.parent / 'copy.duckdb'}' as w",
                   "set enable_external_access = true"):
        with pytest.raises(duckdb.Error):
            data._cached.__wrapped__(attack, (), path, 0.0)


# ---- 2. a kill between commit and publish ---------------------------------------------------------------------

KILL_BEFORE_PUBLISH = (
    "import os, signal, sys, csqa.pipeline.ingest.load as L\n"
    "L.publish = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)  # die right after the commit\n"
    "from csqa.pipeline.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def killed_load(*args):
    return subprocess.run([sys.executable, "-c", KILL_BEFORE_PUBLISH, "load", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def published_count(db, table="raw.interactions"):
    return rows(reader_path(db), f"select count(*) from {table}")[0][0]


def test_a_kill_between_commit_and_publish_is_published_by_the_next_run(tmp_path):
    db = tmp_path / "wh" / "c.duckdb"
    assert csqa("load", SAMPLE / "faq_articles.csv", "--db", db).returncode == 0
    r = killed_load(SAMPLE / "interactions.csv", "--db", db)
    assert r.returncode == -signal.SIGKILL
    stored = rows(db, "select count(*) from raw.interactions")[0][0]
    assert stored > 0 and published_count(db) == 0  # committed, not published: readers are behind
    assert snapshot_batch(db) == 1
    # a nightly with nothing to load publishes it
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    r = csqa("nightly", "--inbox", inbox, "--db", db)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "nothing_to_do"
    assert published_count(db) == stored and snapshot_batch(db) == 2
    # again, and this time the rerun of the same load (every file skipped) publishes it
    r = killed_load(SAMPLE / "csat_surveys.csv", "--db", db)
    assert r.returncode == -signal.SIGKILL
    assert published_count(db, "raw.csat_surveys") == 0
    r = csqa("load", SAMPLE / "csat_surveys.csv", "--db", db)
    assert r.returncode == 0 and "1 skipped" in r.stdout
    assert published_count(db, "raw.csat_surveys") == rows(db, "select count(*) from raw.csat_surveys")[0][0] > 0
    assert snapshot_batch(db) == 3
    # and a run with nothing new and nothing behind publishes nothing more
    snaps = sorted(snapshot_dir(db).glob("c-*.duckdb"))
    assert csqa("load", SAMPLE / "csat_surveys.csv", "--db", db).returncode == 0
    assert sorted(snapshot_dir(db).glob("c-*.duckdb")) == snaps


@pytest.mark.parametrize(("command", "sig", "presses"), [("load", signal.SIGTERM, 1), ("nightly", signal.SIGTERM, 1),
                                                          ("nightly", signal.SIGINT, 1), ("load", signal.SIGINT, 5)])
def test_a_stopped_run_rolls_back_removes_its_staged_files_and_releases_the_lock(tmp_path, command, sig, presses):
    """Stopped while staging; Ctrl-C pressed five times is taken once, while the batch is written (the later presses
    interrupted the rollback and the staged files' removal, which were left behind)."""
    from tests.conftest import INTERACTION_HEADER, interaction_row

    db = tmp_path / "wh" / "c.duckdb"
    assert csqa("load", SAMPLE / "faq_articles.csv", "--db", db).returncode == 0
    batch = tmp_path / "inbox" / "interactions.csv"
    batch.parent.mkdir()
    batch.write_text(INTERACTION_HEADER + "\n" + "\n".join(
        interaction_row(f"I{i:06d}", message=f"case {i}: " + "my withdrawal is still pending " * 13)
        for i in range(150_000)) + "\n", encoding="utf-8")
    stage = Path(str(db) + ".stage")
    alert = tmp_path / "alert.json"  # the nightly's --on-failure hears of the stop
    args = ["load", str(batch), "--json"] if command == "load" else [
        "nightly", "--inbox", str(batch.parent), "--on-failure",
        f"{sys.executable} -c \"import sys; open({str(alert)!r}, 'w').write(sys.stdin.read())\""]
    p = subprocess.Popen([sys.executable, "-m", "csqa.pipeline.cli", *args, "--db", str(db)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_ctrl_c_reaches)
    try:
        deadline = time.monotonic() + 120
        when = "winners-*.staged" if presses > 1 else "*.staged"  # (the winners: written by the upsert)
        while not list(stage.glob(when)) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert p.poll() is None, p.communicate()  # still staging (or writing) when stopped
        for _ in range(presses):
            p.send_signal(sig)  # SIGTERM: what systemd's stop and cron's `timeout` send; SIGINT: Ctrl-C
            time.sleep(0.03)
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 128 + sig and "Traceback" not in err
    assert ("stopped (SIGTERM)" if sig == signal.SIGTERM else "interrupted (Ctrl-C)") in err
    assert not stage.exists() or not list(stage.iterdir())  # the redacted staged rows are gone
    assert not lock_is_held(db.with_name("c.duckdb.lock"))
    assert rows(db, "select count(*) from raw.interactions") == [(0,)]  # the warehouse as it was
    assert rows(db, "select count(*) from audit.load_batches where status = 'loaded'") == [(1,)]
    if command == "load":  # --json: one line also for a stop
        assert out.count("\n") == 1 and json.loads(out)["status"] == "stopped"
        assert json.loads(out)["exit_code"] == 128 + sig
    if command == "nightly":  # cron's JSON line, and the file waits in the inbox for the next run
        assert json.loads(out)["status"] == "stopped" and json.loads(out)["exit_code"] == 128 + sig
        assert json.loads(alert.read_text()) == json.loads(out) and batch.exists()


def test_a_stopped_dry_run_says_nothing_was_written(tmp_path):
    """A dry run stopped while it reads: exit 143, and its message does not speak of a batch rolled back (a dry run
    writes none); its temporary folder is gone."""
    from tests.conftest import INTERACTION_HEADER, interaction_row

    db = tmp_path / "wh" / "c.duckdb"
    assert csqa("load", SAMPLE / "faq_articles.csv", "--db", db).returncode == 0
    batch = tmp_path / "interactions.csv"
    batch.write_text(INTERACTION_HEADER + "\n" + "\n".join(
        interaction_row(f"I{i:06d}", message=f"case {i}: " + "my withdrawal is still pending " * 13)
        for i in range(150_000)) + "\n", encoding="utf-8")
    temp = tmp_path / "temp"
    temp.mkdir()
    p = subprocess.Popen([sys.executable, "-m", "csqa.pipeline.cli", "load", str(batch), "--dry-run", "--db", str(db)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "TMPDIR": str(temp)})
    try:
        _reading(p, batch)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 143 and "Traceback" not in err, err
    assert "stopped (SIGTERM); nothing was written (a dry run)" in err and "rolled back" not in err
    assert list(temp.iterdir()) == []


WATCHDOG_FIRED: list[bool] = []  # _stop_in's statements the stop did not end


def _stop_in(con, sig: int = signal.SIGTERM) -> None:
    """``sig`` (a stop, or Ctrl-C) to this process while ``con`` runs a statement that would take hours: the stop
    interrupts the connection (cli._watch_stops, cli._stop) and DuckDB raises its own error ("Query interrupted" or
    "Interrupted!").
    Were the statement left running, a watchdog would interrupt it after 120 s and note it in ``WATCHDOG_FIRED``,
    which the tests assert empty."""
    import threading

    def watchdog():
        WATCHDOG_FIRED.append(True)
        with contextlib.suppress(duckdb.Error):  # closed since
            con.interrupt()

    dog = threading.Timer(120, watchdog)
    dog.start()
    try:  # the stop can land anywhere from here on: the watchdog is always cancelled
        threading.Timer(0.1, os.kill, (os.getpid(), sig)).start()
        con.execute("select count(*) from range(10000000000000) where hash(range) = 0").fetchall()
    finally:
        dog.cancel()


def _endless(con):
    """A function that runs, on ``con``, a statement that would take hours, and the list it appends how that ended
    to ("finished", or the DuckDB error's class name)."""
    outcome: list[str] = []

    def run():
        try:
            con.execute("select count(*) from range(10000000000000) where hash(range) = 0").fetchall()
            outcome.append("finished")
        except duckdb.Error as e:
            outcome.append(type(e).__name__)

    return run, outcome


def test_a_stop_interrupts_the_statement_of_every_writer_connection_which_stays_usable(tmp_path):
    """DuckDB 2.0 sees a signal only when the running statement ends, or sooner by chance (when the main thread
    checks between the statement's tasks): a stop interrupts the connections csqa opened to write
    (``warehouse.interrupt_statements``, called by the stop watcher), which end their statements at once and take the
    next one (the rollback); an idle one is not affected."""
    import threading

    from csqa.pipeline.model import warehouse

    writer = warehouse.connect(tmp_path / "w.duckdb")
    idle = warehouse.connect(tmp_path / "w.duckdb")  # a second writer on the file, running nothing
    endless, outcome = _endless(writer)
    t = threading.Thread(target=endless)
    t.start()
    deadline = time.monotonic() + 120  # were the writer not interrupted, the statement would run for hours
    while t.is_alive() and time.monotonic() < deadline:
        warehouse.interrupt_statements()  # again until it lands in the statement (one before it starts is a no-op)
        t.join(0.2)
    ended_by_the_stop = not t.is_alive()
    if t.is_alive():  # not interrupted: end it here, and fail
        writer.interrupt()
        t.join()
    assert ended_by_the_stop and outcome == ["InterruptException"]
    assert writer.execute("select 42").fetchall() == [(42,)] == idle.execute("select 42").fetchall()
    writer.close()
    idle.close()
    warehouse.interrupt_statements()  # closed connections are skipped


def test_the_stop_watcher_interrupts_the_writers_when_the_signal_arrives_not_when_the_handler_runs(tmp_path):
    """Python runs a signal handler only when the main thread next checks for one, which DuckDB may not let it do
    until the statement it runs ends. The signal's number also reaches the stop watcher's thread through the
    wake-up descriptor (signal.set_wakeup_fd), which notes the stop and interrupts the writer connections then:
    here the byte is written by hand, with no handler involved. SIGINT (Ctrl-C) is taken like SIGTERM; another
    signal's byte is ignored, and closing the descriptor ends the watcher."""
    import threading

    from csqa.pipeline.model import warehouse

    writer = warehouse.connect(tmp_path / "w.duckdb")
    endless, outcome = _endless(writer)
    read_fd, write_fd = os.pipe()
    watcher = threading.Thread(target=cli._watch_stops, args=(read_fd,))
    watcher.start()
    query = threading.Thread(target=endless)
    cli._STOP_REQUESTED.clear()
    try:
        query.start()
        time.sleep(0.5)
        os.write(write_fd, bytes([signal.SIGWINCH]))  # not a stop
        query.join(0.5)
        assert query.is_alive() and not cli._STOP_REQUESTED
        cli._STOP_REQUESTED.append(signal.SIGTERM)  # the handler ran first: the main thread left its statement
        os.write(write_fd, bytes([signal.SIGTERM]))
        query.join(0.5)
        assert query.is_alive() and cli._STOP_REQUESTED == [signal.SIGTERM]  # not interrupted (its rollback next)
        deadline = time.monotonic() + 120  # were the writer not interrupted, the statement would run for hours
        while query.is_alive() and time.monotonic() < deadline:
            cli._STOP_REQUESTED.clear()  # again until it lands in the statement (one before it starts is a no-op)
            os.write(write_fd, bytes([signal.SIGTERM]))
            query.join(0.2)
        ended_by_the_stop = not query.is_alive()
        assert cli._STOP_REQUESTED == [signal.SIGTERM]
        again, outcome_again = _endless(writer)  # and Ctrl-C, the next statement
        query = threading.Thread(target=again)
        query.start()
        deadline = time.monotonic() + 120
        while query.is_alive() and time.monotonic() < deadline:
            cli._STOP_REQUESTED.clear()
            os.write(write_fd, bytes([signal.SIGINT]))
            query.join(0.2)
        ended_by_ctrl_c = not query.is_alive()
        assert cli._STOP_REQUESTED == [signal.SIGINT]
    finally:
        if query.is_alive():  # not interrupted: end it here, and fail
            writer.interrupt()
            query.join()
        os.close(write_fd)
        watcher.join(10)
        os.close(read_fd)
        cli._STOP_REQUESTED.clear()
        writer.close()
    assert ended_by_the_stop and outcome == ["InterruptException"] and not watcher.is_alive()
    assert ended_by_ctrl_c and outcome_again == ["InterruptException"]


def test_a_rollback_the_stop_interrupted_is_run_again(tmp_path):
    """The stop's interrupt can land in the batch's ROLLBACK (the handler and the watcher race for it): an
    interrupted ROLLBACK may leave the transaction open, or have ended it and raise all the same. ``_rollback``
    runs it again, and the batch's rows are gone either way."""
    from csqa.pipeline.ingest.load import _rollback
    from csqa.pipeline.model import warehouse

    con = warehouse.connect(tmp_path / "w.duckdb")
    con.execute("create table t (i integer)")

    class Interrupted:  # DuckDB's connection, its first ROLLBACK interrupted before (or after) it ran
        def __init__(self, after: bool):
            self.after, self.calls = after, 0

        def execute(self, sql):
            self.calls += 1
            if self.calls == 1:
                if self.after:
                    con.execute(sql)
                raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")
            return con.execute(sql)

    for after in (False, True):
        con.execute("begin transaction")
        con.execute("insert into t values (1)")
        stand_in = Interrupted(after)
        _rollback(stand_in)
        assert stand_in.calls == 2 and con.execute("select count(*) from t").fetchall() == [(0,)]
        with pytest.raises(duckdb.TransactionException):  # no transaction left open
            con.execute("rollback")
    con.close()


def test_a_load_watches_for_stops_and_puts_the_wakeup_descriptor_and_the_handlers_back(tmp_path, monkeypatch):
    """While ``load`` runs, the signal wake-up descriptor is the stop watcher's pipe; after it, what it was."""
    import stat
    import threading

    from csqa.pipeline.model import marts

    seen = []
    refresh = marts.refresh

    def looking(con, *args, **kwargs):
        fd = signal.set_wakeup_fd(-1)
        signal.set_wakeup_fd(fd)
        seen.append(fd >= 0 and stat.S_ISFIFO(os.fstat(fd).st_mode))
        return refresh(con, *args, **kwargs)

    monkeypatch.setattr(marts, "refresh", looking)
    before = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(before)
    handlers = [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)]
    assert cli.main(["load", str(SAMPLE / "faq_articles.csv"), "--db", str(tmp_path / "w.duckdb")]) == 0
    after = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(after)
    assert seen == [True] and after == before
    assert [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)] == handlers  # the caller's handlers back
    assert not [t for t in threading.enumerate() if t.name == "csqa-stop-watch"]  # the watcher ended


@pytest.mark.parametrize(("sig", "said"), [(signal.SIGTERM, "stopped (SIGTERM)"),
                                           (signal.SIGINT, "interrupted (Ctrl-C)")])
def test_a_stop_or_ctrl_c_inside_a_duckdb_statement_ends_the_load_and_rolls_the_batch_back(
        tmp_path, monkeypatch, capsys, sig, said, ctrl_c_reaches_this_process):
    """SIGTERM, and Ctrl-C (exit 130: DuckDB raises its "Query interrupted", not KeyboardInterrupt, which was
    reported as an internal error with a traceback)."""
    from csqa.pipeline.model import marts

    db = tmp_path / "wh" / "c.duckdb"
    assert cli.main(["load", str(SAMPLE / "faq_articles.csv"), "--db", str(db)]) == 0
    refresh = marts.refresh

    def stopped_refresh(con, *args, **kwargs):  # DuckDB reports the stop as its own error ("Query interrupted")
        _stop_in(con, sig)
        return refresh(con, *args, **kwargs)

    monkeypatch.setattr(marts, "refresh", stopped_refresh)
    capsys.readouterr()
    WATCHDOG_FIRED.clear()
    assert cli.main(["load", str(SAMPLE / "interactions.csv"), "--db", str(db)]) == 128 + sig
    assert not WATCHDOG_FIRED  # the stop ended the statement
    err = capsys.readouterr().err
    assert said in err and "internal error" not in err and "Traceback" not in err
    assert rows(db, "select count(*) from raw.interactions") == [(0,)]
    assert rows(db, "select count(*) from audit.load_batches where status = 'loaded'") == [(1,)]
    assert not list(Path(str(db) + ".stage").glob("*")) and not lock_is_held(db.with_name("c.duckdb.lock"))
    monkeypatch.setattr(marts, "refresh", refresh)  # and the next run is a plain load
    assert cli.main(["load", str(SAMPLE / "interactions.csv"), "--db", str(db)]) == 0


def test_a_stop_after_the_commit_keeps_the_batch_and_the_next_run_publishes_it(tmp_path, monkeypatch, capsys):
    from csqa.pipeline.model import compaction

    db = tmp_path / "wh" / "c.duckdb"
    assert cli.main(["load", str(SAMPLE / "faq_articles.csv"), "--db", str(db)]) == 0
    commit = compaction.commit

    def stopped_after_commit(con, **kwargs):  # the stop lands in the checkpoint that follows the commit
        done = kwargs.pop("on_commit")
        return commit(con, on_commit=lambda: (done(), _stop_in(con)), **kwargs)

    monkeypatch.setattr(compaction, "commit", stopped_after_commit)
    capsys.readouterr()
    WATCHDOG_FIRED.clear()
    assert cli.main(["load", str(SAMPLE / "interactions.csv"), "--db", str(db)]) == 128 + signal.SIGTERM
    assert not WATCHDOG_FIRED
    err = capsys.readouterr().err
    assert "stopped (SIGTERM)" in err and "committed before the stop is kept" in err and "Traceback" not in err
    stored = rows(db, "select count(*) from raw.interactions")[0][0]
    assert stored > 0 and rows(db, "select count(*) from audit.load_batches where status = 'loaded'") == [(2,)]
    assert published_count(db) == 0 and not lock_is_held(db.with_name("c.duckdb.lock"))
    monkeypatch.setattr(compaction, "commit", commit)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    assert cli.main(["nightly", "--inbox", str(inbox), "--db", str(db)]) == 0  # nothing to load: it publishes
    assert published_count(db) == stored


# ---- 3. one lock for every writer ---------------------------------------------------------------------------

def lock_is_held(path: Path) -> bool:
    if not path.exists():
        return False
    with path.open("a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return False


def test_a_load_beside_a_nightly_exits_with_the_lock_code_and_touches_nothing(tmp_path):
    db = tmp_path / "wh" / "c.duckdb"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for f in ("interactions.csv", "messages.csv", "csat_surveys.csv"):
        shutil.copyfile(SAMPLE / f, inbox / f)
    nightly = subprocess.Popen([sys.executable, "-m", "csqa.pipeline.cli", "nightly", "--inbox", str(inbox),
                                "--db", str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not lock_is_held(db.with_name("c.duckdb.lock")):
            assert time.monotonic() < deadline and nightly.poll() is None
            time.sleep(0.02)
        r = csqa("load", SAMPLE / "faq_articles.csv", "--db", db)
        out, err = nightly.communicate(timeout=300)
    finally:
        if nightly.poll() is None:
            nightly.kill()
    assert r.returncode == 6, r.stderr
    assert "Another csqa run holds the lock." in r.stderr and f"PID {nightly.pid}" in r.stderr
    assert "Traceback" not in r.stderr
    assert nightly.returncode == 0, err
    assert json.loads(out)["status"] == "ok"
    assert rows(db, "select count(*) from raw.faq_articles") == [(0,)]  # the load wrote nothing
    assert rows(db, "select count(distinct _batch_id) from raw.interactions") == [(1,)]


def test_publish_leaves_a_live_runs_part_file_alone(tmp_path, config):
    db = tmp_path / "c.duckdb"
    load([SAMPLE / "faq_articles.csv"], db, config)
    folder = snapshot_dir(db)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = folder / f"c-000009-20260101T000000000000Z.duckdb.{sleeper.pid}.part"
        live.write_bytes(b"being copied")
        dead = folder / "c-000008-20260101T000000000000Z.duckdb.999999999.part"
        dead.write_bytes(b"left by a killed run")
        old_style = folder / "c-000007-20260101T000000000000Z.duckdb.part"
        old_style.write_bytes(b"left by an older csqa")
        publish(db, 2)
        assert live.exists() and not dead.exists() and not old_style.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


# ---- 4. an internal error in nightly is heard by cron ---------------------------------------------------------

def test_an_internal_error_in_nightly_prints_the_json_line_and_runs_on_failure(tmp_path, monkeypatch, capsys):
    import csqa.pipeline.ops.nightly

    def broken(*a, **k):
        raise ZeroDivisionError("injected")

    monkeypatch.setattr(csqa.pipeline.ops.nightly, "load", broken)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copyfile(SAMPLE / "faq_articles.csv", inbox / "faq_articles.csv")
    alert_file = tmp_path / "alert.json"
    code = cli.main(["nightly", "--inbox", str(inbox), "--db", str(tmp_path / "c.duckdb"), "--on-failure",
                     f"{sys.executable} -c \"import sys; open({str(alert_file)!r}, 'w').write(sys.stdin.read())\""])
    out = capsys.readouterr()
    assert code == 1
    line = json.loads(out.out.strip())
    assert line["status"] == "failed" and line["exit_code"] == 1 and "ZeroDivisionError: injected" in line["error"]
    assert json.loads(alert_file.read_text()) == line
    assert "internal error" in out.err and "ZeroDivisionError" in out.err
    assert (inbox / "faq_articles.csv").exists()  # nothing moved


# ---- 6. the lock message names the reader -----------------------------------------------------------------

def test_a_reader_on_the_main_file_is_named_in_the_lock_message(tmp_path):
    db = tmp_path / "c.duckdb"
    assert csqa("load", SAMPLE / "faq_articles.csv", "--db", db).returncode == 0
    reader = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(db)!r}, "
                               "read_only=True); print('open', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "open"
        r = csqa("load", SAMPLE / "csat_surveys.csv", "--db", db)
    finally:
        reader.kill()
        reader.wait()
        reader.stdout.close()
    assert r.returncode == 4 and "Traceback" not in r.stderr
    assert "held by a reader" in r.stderr and f"PID {reader.pid}" in r.stderr
    assert "csqa sql --print-path" in r.stderr and "snapshot" in r.stderr
    assert "a load is running?" not in r.stderr
    writer = duckdb.connect(str(db))  # a writer (a read-write session) is named as such
    try:
        r = csqa("load", SAMPLE / "csat_surveys.csv", "--db", db)
    finally:
        writer.close()
    assert r.returncode == 4 and "held by a writer" in r.stderr


def test_faq_gaps_reads_the_snapshot_not_the_warehouse_file(tmp_path):
    db = tmp_path / "c.duckdb"
    assert csqa("load", SAMPLE / "interactions.csv", SAMPLE / "faq_articles.csv", "--db", db).returncode == 0
    writer = duckdb.connect(str(db))  # a load holding the warehouse file
    try:
        r = csqa("faq-gaps", "--db", db, "--limit", 3)
    finally:
        writer.close()
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("#1 ")
