"""The nightly job: archive and reject folders, lock, exit codes, alerts, kills, snapshots for readers."""

import fcntl
import filecmp
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from csqa.pipeline.ingest.load import load
from csqa.pipeline.model.checks import run_checks
from csqa.pipeline.model.marts import mart_models
from csqa.pipeline.ops.snapshots import publish, reader_path
from csqa.pipeline.synth.generate import generate
from tests.conftest import SAMPLE, write


def csqa(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "csqa.pipeline.cli", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def tables(db: Path) -> dict:
    """Every data table of a warehouse; batch ids (a killed run may have used some) and file paths left out."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for t in ["raw.interactions", "raw.messages", "raw.csat_surveys", "raw.faq_articles"]:
            out[t] = con.execute(f"select * exclude (_batch_id, _source_file) from {t} order by all").fetchall()
        for name, *_ in mart_models():
            rows = con.execute(f"select * from marts.{name} order by all").fetchall()
            out[name] = [tuple(round(v, 6) if isinstance(v, float) else v for v in r) for r in rows]
        return out
    finally:
        con.close()


@pytest.fixture
def inbox(tmp_path):
    box = tmp_path / "inbox"
    box.mkdir()
    for f in ("interactions.csv", "csat_surveys.csv", "faq_articles.csv"):
        (box / f).write_bytes((SAMPLE / f).read_bytes())
    return box


def test_nightly_archives_rejects_and_prints_one_json_line(inbox, tmp_path):
    write(inbox / "interactions_broken.csv", "only,two\n1,2\n")
    alert_file = tmp_path / "alert.json"
    r = csqa("nightly", "--inbox", inbox, "--db", tmp_path / "wh" / "c.duckdb",
             "--on-failure",
             f"{sys.executable} -c \"import sys; open({str(alert_file)!r}, 'w').write(sys.stdin.read())\"")
    assert r.returncode == 3, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1
    s = json.loads(lines[0])
    assert s["status"] == "input_rejected" and s["files_loaded"] == 3 and s["archived"] == 3
    assert not list(inbox.iterdir())  # the inbox is empty
    day = next((tmp_path / "archive").iterdir())
    assert sorted(p.name for p in day.iterdir()) == ["csat_surveys.csv", "faq_articles.csv", "interactions.csv"]
    assert sorted(s["archived_to"]) == sorted(str(p) for p in day.iterdir())  # the line says where each went
    rej = next((tmp_path / "rejected").iterdir())
    reason = (rej / "interactions_broken.csv.reason.txt").read_text()
    assert "required column(s) missing" in reason
    assert json.loads(alert_file.read_text())["exit_code"] == 3
    # nothing new: exit 0, nothing to do
    r2 = csqa("nightly", "--inbox", inbox, "--db", tmp_path / "wh" / "c.duckdb")
    assert r2.returncode == 0 and json.loads(r2.stdout)["status"] == "nothing_to_do"


def test_a_file_of_a_type_csqa_does_not_read_is_rejected_with_its_reason_not_left_in_the_inbox(inbox, tmp_path):
    """A PDF or an Excel workbook in the inbox was skipped without a word, night after night; csqa load of the
    folder skipped it silently too, and read a dot-file (an export still being written under a temporary name)."""
    (inbox / "report.pdf").write_bytes(b"%PDF-1.4 not a table")
    (inbox / "faq.xlsx").write_bytes(b"PK\x03\x04 a workbook")
    (inbox / ".partial.csv").write_text("interaction_id,chan")  # being written: left for the next run
    (inbox / "messages.csv.filepart").write_text("message_id,")  # WinSCP's name while it uploads: left too
    (inbox / "Thumbs.db").write_bytes(b"\x00")  # a system's file: passed over
    r = csqa("load", inbox, "--db", tmp_path / "dry" / "c.duckdb")
    ignored = [line for line in r.stderr.splitlines() if line.startswith("ignored ")]
    assert r.returncode == 0 and len(ignored) == 2 and 'faq.xlsx: a spreadsheet' in r.stderr, r.stderr
    assert ".partial.csv" not in r.stdout + r.stderr and "filepart" not in r.stderr and "Thumbs" not in r.stderr
    r = csqa("nightly", "--inbox", inbox, "--db", tmp_path / "wh" / "c.duckdb")
    s = json.loads(r.stdout)
    assert r.returncode == 3 and s["status"] == "input_rejected" and s["files_loaded"] == 3, s
    assert s["files_rejected"] == 2 and s["files"] == 5 and len(s["rejected"]) == 2
    assert sorted(p.name for p in inbox.iterdir()) == [".partial.csv", "Thumbs.db", "messages.csv.filepart"]
    rej = next((tmp_path / "rejected").iterdir())
    assert sorted(p.name for p in rej.iterdir()) == ["faq.xlsx", "faq.xlsx.reason.txt", "report.pdf",
                                                     "report.pdf.reason.txt"]
    assert 'save it as "CSV UTF-8"' in (rej / "faq.xlsx.reason.txt").read_text()
    assert "a document" in (rej / "report.pdf.reason.txt").read_text()
    (inbox / "notes.docx").write_bytes(b"PK")  # alone in the inbox: rejected too, nothing loaded
    r = csqa("nightly", "--inbox", inbox, "--db", tmp_path / "wh" / "c.duckdb")
    assert r.returncode == 3 and json.loads(r.stdout)["rejected"][0].endswith("notes.docx")


def test_an_empty_export_is_a_delivery_of_no_rows_not_a_rejected_file(inbox, tmp_path):
    """An exporter writes a 0-byte file on a day with nothing to deliver (a JSON-lines export of no records is
    one): it was rejected (exit 3, paging on-call) and, the same bytes as any other empty file, a second one in the
    batch was skipped as "already loaded". Now each is loaded with 0 rows and a note, and archived; a 0-byte
    Parquet file (never a valid one) and an empty file whose name says no entity are still rejected."""
    (inbox / "messages.jsonl").write_bytes(b"")
    (inbox / "csat_surveys_extra.csv").write_bytes(b"\xef\xbb\xbf\r\n")  # a BOM and a line end: nothing
    db = tmp_path / "wh" / "c.duckdb"
    r = csqa("nightly", "--inbox", inbox, "--db", db)
    s = json.loads(r.stdout)
    assert r.returncode == 0 and s["status"] == "ok" and s["files_loaded"] == 5 and not s["files_rejected"], s
    assert not list(inbox.iterdir())  # archived with the others
    empty = "select entity, notes from audit.load_batches where rows_read = 0 and status = 'loaded' order by 1"
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute(empty).fetchall() == [("csat_surveys", "the file is empty: no rows delivered"),
                                                 ("messages", "the file is empty: no rows delivered")]
    finally:
        con.close()
    (inbox / "messages.jsonl").write_bytes(b"")  # the next quiet day's: the same bytes, loaded again, not skipped
    (inbox / "daily.csv").write_bytes(b"")
    (inbox / "interactions.parquet").write_bytes(b"")
    r = csqa("nightly", "--inbox", inbox, "--db", db)
    s = json.loads(r.stdout)
    assert r.returncode == 3 and s["files_loaded"] == 1 and s["files_skipped"] == 0 and s["files_rejected"] == 2
    reasons = sorted(Path(p).with_name(Path(p).name + ".reason.txt").read_text() for p in s["rejected"])
    assert reasons[0].startswith("daily.csv: the file is empty, and its name does not say which entity")
    assert reasons[1].startswith("interactions.parquet: not a readable Parquet file")


def test_quarantine_above_threshold_exits_7(tmp_path):
    box = tmp_path / "inbox"
    box.mkdir()
    (box / "interactions_dirty.csv").write_bytes((SAMPLE / "dirty" / "interactions_dirty_export.csv").read_bytes())
    r = csqa("nightly", "--inbox", box, "--db", tmp_path / "c.duckdb", "--max-quarantine-rate", "0.01")
    assert r.returncode == 7, r.stdout + r.stderr
    assert json.loads(r.stdout)["status"] == "quarantine_high"


def test_a_second_run_exits_at_once_while_the_lock_is_held(inbox, tmp_path):
    db = tmp_path / "wh" / "c.duckdb"
    db.parent.mkdir()
    with db.with_name("c.duckdb.lock").open("a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        t = time.perf_counter()
        r = csqa("nightly", "--inbox", inbox, "--db", db)
        assert time.perf_counter() - t < 20
    assert r.returncode == 6
    assert json.loads(r.stdout)["status"] == "failed"
    assert not db.exists()  # touched nothing
    assert len(list(inbox.iterdir())) == 3


def test_killed_twenty_times_then_converges_to_a_clean_run(tmp_path, config):
    data = tmp_path / "data"
    generate(data, n=2500, days=21, seed=13)
    clean = tmp_path / "clean.duckdb"
    load([data], clean, config)
    db = tmp_path / "killed.duckdb"
    rng = random.Random(42)
    env = {**os.environ, "CSQA_PSEUDONYM_KEY": os.environ["CSQA_PSEUDONYM_KEY"]}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "csqa.pipeline.cli", "load", str(data), "--db",
                    str(tmp_path / "timing.duckdb")],
                   env=env, check=True, capture_output=True)
    duration = time.perf_counter() - t
    outcomes = []
    for _ in range(20):
        proc = subprocess.Popen([sys.executable, "-m", "csqa.pipeline.cli", "load", str(data), "--db", str(db)],
                                env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, duration * 1.1))
        proc.send_signal(signal.SIGKILL)
        outcomes.append(proc.wait())
        if db.exists():  # after every kill the file still opens (DuckDB replays or drops its log)
            duckdb.connect(str(db), read_only=True).close()
    assert -signal.SIGKILL in outcomes  # we did kill runs mid-way
    r = subprocess.run([sys.executable, "-m", "csqa.pipeline.cli", "load", str(data), "--db", str(db)], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert tables(db) == tables(clean)
    assert all(x["failing_rows"] == 0 for x in run_checks(db))


def test_same_files_twice_under_other_names(tmp_path, config, small_set):
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    load([small_set], a, config)
    twice = tmp_path / "twice"
    twice.mkdir()
    for f in small_set.iterdir():
        (twice / f.name).write_bytes(f.read_bytes())
        (twice / f"again_{f.name}").write_bytes(f.read_bytes())
    s = load([twice], b, config)
    assert s.count("skipped") == 4
    assert tables(a) == tables(b)


def test_a_reader_on_the_snapshot_never_blocks_a_load_nor_sees_half_a_batch(tmp_path, config, small_set):
    db = tmp_path / "w.duckdb"
    load([small_set / "faq_articles.csv"], db, config)
    snap = reader_path(db)
    assert snap != db and snap.exists()
    reader = duckdb.connect(str(snap), read_only=True)
    try:
        before = reader.execute("select count(*) from raw.interactions").fetchall()[0][0]
        s = load([small_set], db, config)  # runs while the reader holds its snapshot open
        assert s.count("loaded") == 3
        assert reader.execute("select count(*) from raw.interactions").fetchall()[0][0] == before == 0
    finally:
        reader.close()
    fresh = duckdb.connect(str(reader_path(db)), read_only=True)
    try:
        assert fresh.execute("select count(*) from raw.interactions").fetchall()[0][0] > 0
    finally:
        fresh.close()
    for _ in range(4):
        write(tmp_path / "more" / f"faq_{_}.csv",
              "article_id,topic,language,title,body,status,published_at,updated_at\n"
              f"X{_},kyc,en,T,B,draft,,2026-01-0{_ + 1}T00:00:00Z\n")
        load([tmp_path / "more" / f"faq_{_}.csv"], db, config)
    assert len(list((db.parent / "snapshots").glob("w-*.duckdb"))) == config.warehouse.snapshots


def _faq_file(folder: Path, i: int) -> Path:
    """A one-article FAQ file, a different one per ``i``: a small batch that changes the warehouse."""
    f = folder / f"faq_{i}.csv"
    write(f, "article_id,topic,language,title,body,status,published_at,updated_at\n"
             f"X{i},kyc,en,T,B,draft,,2026-01-{i + 1:02d}T00:00:00Z\n")
    return f


def _leases_granted(folder: Path) -> bool:
    """Whether this file system grants the write lease a take-over needs (ext4 and tmpfs do; where it does not,
    every publish copies, as docs/OPERATIONS.md says)."""
    import csqa.pipeline.ops.snapshots as snapshots

    probe = folder / "lease-probe"
    probe.write_bytes(b"x")
    fd = os.open(probe, os.O_RDWR)
    try:
        granted = snapshots._lease(fd)
        if granted:
            fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
        return granted
    finally:
        os.close(fd)
        probe.unlink()


def _articles(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select count(*) from raw.faq_articles").fetchall()[0][0]
    finally:
        con.close()


def test_a_publish_takes_over_the_oldest_snapshot_and_leaves_the_warehouses_exact_bytes(tmp_path, config,
                                                                                         small_set):
    db = tmp_path / "w.duckdb"
    folder = db.parent / "snapshots"
    keep = config.warehouse.snapshots
    leases = _leases_granted(tmp_path)
    load([small_set], db, config)
    articles = _articles(reader_path(db))
    for i in range(keep + 2):
        before = {p.stat().st_ino: p.name for p in folder.glob("w-*.duckdb")}
        load([_faq_file(tmp_path / "more", i)], db, config)
        snap = reader_path(db)
        assert filecmp.cmp(db, snap, shallow=False)  # every byte, as a copy would have it
        assert _articles(snap) == articles + i + 1
        inode = snap.stat().st_ino
        if len(before) < keep or not leases:  # nothing to retire yet, or no leases here: a copy, a new file
            assert inode not in before
        else:  # the oldest, which this publish removes, became the new snapshot
            assert before.get(inode) == min(before.values())
            assert not (folder / before[inode]).exists()
        assert len(list(folder.glob("w-*.duckdb"))) == min(len(before) + 1, keep)
        assert not list(folder.glob("*.part"))


@pytest.mark.parametrize("old_size", [0, 1000, 4096 * 3 + 17, 40_000])
def test_the_take_over_makes_the_old_file_equal_to_the_warehouse_whatever_their_sizes(tmp_path, monkeypatch,
                                                                                     old_size):
    """Pieces of 64 bytes in chunks of 1 KiB (so the two threads' halves, the last short chunk and a shorter
    or longer old file all occur): the old file ends equal to the new one, and only differing pieces are written."""
    import csqa.pipeline.ops.snapshots as snapshots

    monkeypatch.setattr(snapshots, "_CHUNK", 1024)
    monkeypatch.setattr(snapshots, "_PIECE", 64)
    rng = random.Random(old_size)
    new = bytearray(rng.randbytes(4096 * 3 + 517))
    old = bytearray(new[:old_size]) + bytearray(rng.randbytes(max(0, old_size - len(new))))
    for at in (5, 1030, 2047, 4096 * 3 + 500):  # a few changed bytes, in different pieces and chunks
        if at < len(old):
            old[at] ^= 0xFF
    db, snap = tmp_path / "db", tmp_path / "snap"
    db.write_bytes(new)
    snap.write_bytes(old)
    fd = os.open(snap, os.O_RDWR)
    try:
        written = snapshots._rewrite_differences(db, fd)
    finally:
        os.close(fd)
    assert snap.read_bytes() == bytes(new)
    pieces = [new[i:i + 64] for i in range(0, len(new), 64)]
    differing = [p for i, p in zip(range(0, len(new), 64), pieces, strict=True) if p != old[i:i + len(p)]]
    assert written == sum(map(len, differing))  # what the old file ends with past the new one is cut, not written
    if old_size >= len(new):
        assert len(differing) == 4


def test_a_snapshot_a_reader_holds_is_never_taken_over(tmp_path, config, small_set):
    """A reader in another process (DuckDB's lock) or in this one (its open file) keeps its snapshot as it was:
    the publish copies the warehouse instead."""
    db = tmp_path / "w.duckdb"
    folder = db.parent / "snapshots"
    load([small_set], db, config)
    for i in range(config.warehouse.snapshots - 1):
        load([_faq_file(tmp_path / "more", i)], db, config)
    oldest = min(folder.glob("w-*.duckdb"))
    held = oldest.stat().st_ino
    reader = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); q = "
         "'select count(*) from raw.faq_articles'; print(c.execute(q).fetchall()[0][0], flush=True); "
         "sys.stdin.readline(); print(c.execute(q).fetchall()[0][0], flush=True)", str(oldest)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        seen = int(reader.stdout.readline())
        load([_faq_file(tmp_path / "more", 10)], db, config)
        assert reader_path(db).stat().st_ino != held and not oldest.exists()
        reader.stdin.write("again\n")
        reader.stdin.flush()
        assert int(reader.stdout.readline()) == seen
    finally:
        reader.kill()
        reader.wait()
        reader.stdin.close()
        reader.stdout.close()
    oldest = min(folder.glob("w-*.duckdb"))
    held = oldest.stat().st_ino
    here = duckdb.connect(str(oldest), read_only=True)
    try:
        seen = here.execute("select count(*), max(article_id) from raw.faq_articles").fetchall()
        load([_faq_file(tmp_path / "more", 11)], db, config)
        assert reader_path(db).stat().st_ino != held
        assert here.execute("select count(*), max(article_id) from raw.faq_articles").fetchall() == seen
    finally:
        here.close()
    load([_faq_file(tmp_path / "more", 12)], db, config)  # nobody holds the oldest now: taken over again
    assert filecmp.cmp(db, reader_path(db), shallow=False)


_READER_THAT_CLOSES_A_HANDLE = r"""
import duckdb, sys
snap, alias = sys.argv[1], sys.argv[2]
con = duckdb.connect(snap, read_only=True)
print(con.execute("select count(*), sum(i) from a").fetchall()[0], flush=True)
sys.stdin.readline()
# the same file opened and closed once more in this process (by another name, which DuckDB's instance cache treats
# as another database; any open()/close() of the file does the same): POSIX drops every fcntl lock this process
# holds on the file, DuckDB's first session's included
other = duckdb.connect()
other.execute(f"attach '{alias}' as s (read_only)")
other.execute("detach s")
other.close()
print("closed", flush=True)
sys.stdin.readline()
print(con.execute("select count(*), sum(i) from b").fetchall()[0], flush=True)
"""


def _tables(db: Path, seed: int) -> None:
    """A small warehouse file whose bytes differ with ``seed``."""
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    n = 200_000 + seed * 1000
    con.execute(f"create table a as select range * {seed + 1} as i from range({n})")
    con.execute(f"create table b as select range * {seed + 7} as i from range({n})")
    con.close()


def test_a_reader_that_closed_another_handle_of_its_snapshot_keeps_it(tmp_path):
    """DuckDB's fcntl lock is gone once its process closes any other handle of the file; the kernel's lease still
    sees the open session, so the snapshot is copied, not taken over. (Found by a review: with the lock alone the
    reader's next query failed on a corrupted segment.)"""
    db = tmp_path / "w.duckdb"
    for seed in range(3):
        _tables(db, seed)
        publish(db, seed + 1, keep=3)
    oldest = min((tmp_path / "snapshots").glob("w-*.duckdb"))
    alias = tmp_path / "alias.duckdb"
    alias.symlink_to(oldest)
    with duckdb.connect(str(oldest), read_only=True) as con:
        want = con.execute("select count(*), sum(i) from b").fetchall()[0]
    reader = subprocess.Popen([sys.executable, "-c", _READER_THAT_CLOSES_A_HANDLE, str(oldest), str(alias)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        reader.stdout.readline()
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "closed"
        held = oldest.stat().st_ino
        _tables(db, 9)
        publish(db, 4, keep=3)
        taken = reader_path(db).stat().st_ino == held
        reader.stdin.write("\n")
        reader.stdin.flush()
        seen = reader.stdout.readline().strip()
    finally:
        reader.kill()
        reader.wait()
        reader.stdin.close()
        reader.stdout.close()
    assert not taken
    assert seen == str(want)
    assert filecmp.cmp(db, reader_path(db), shallow=False)


def test_a_hard_linked_copy_of_a_snapshot_is_never_rewritten(tmp_path):
    """``cp -l`` (a cheap backup) shares the snapshot's file: it is copied, not taken over."""
    db = tmp_path / "w.duckdb"
    for seed in range(3):
        _tables(db, seed)
        publish(db, seed + 1, keep=3)
    backup = tmp_path / "backup.duckdb"
    os.link(min((tmp_path / "snapshots").glob("w-*.duckdb")), backup)
    before = backup.read_bytes()
    _tables(db, 9)
    publish(db, 4, keep=3)
    assert backup.read_bytes() == before
    assert filecmp.cmp(db, reader_path(db), shallow=False)


def test_another_warehouses_snapshots_in_the_same_folder_are_left_alone(tmp_path):
    """``csqa-eu``'s snapshots start with ``csqa-``: publishing ``csqa`` neither removes nor takes them over."""
    db, eu = tmp_path / "csqa.duckdb", tmp_path / "csqa-eu.duckdb"
    _tables(eu, 5)
    for i in range(3):
        publish(eu, i + 1, keep=3)
    theirs = {p.name: p.read_bytes() for p in (tmp_path / "snapshots").glob("csqa-eu-*.duckdb")}
    assert len(theirs) == 3
    for seed in range(5):
        _tables(db, seed)
        publish(db, seed + 1, keep=3)
        assert filecmp.cmp(db, reader_path(db), shallow=False)
    assert {p.name: p.read_bytes() for p in (tmp_path / "snapshots").glob("csqa-eu-*.duckdb")} == theirs
    assert reader_path(eu).name in theirs


def test_the_take_over_rewrites_a_piece_past_the_old_files_end_that_equals_the_stale_buffer(tmp_path, monkeypatch):
    """The new file repeats with the chunk's period and the old one is shorter: the bytes past its end are what the
    reused buffer still holds from the previous chunk, so only the guard on the bytes read writes them."""
    import csqa.pipeline.ops.snapshots as snapshots

    monkeypatch.setattr(snapshots, "_CHUNK", 1024)
    monkeypatch.setattr(snapshots, "_PIECE", 64)
    new = random.Random(1).randbytes(1024) * 5
    db, snap = tmp_path / "db", tmp_path / "snap"
    db.write_bytes(new)
    snap.write_bytes(new[:1500])
    fd = os.open(snap, os.O_RDWR)
    try:
        snapshots._rewrite_differences(db, fd)
    finally:
        os.close(fd)
    assert snap.read_bytes() == new


def test_sql_command_reads_the_snapshot(tmp_path, config, small_set):
    db = tmp_path / "w.duckdb"
    load([small_set], db, config)
    r = csqa("sql", "select count(*) as n from marts.fct_interactions", "--db", db, "--csv")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "n" and int(r.stdout.splitlines()[1]) == 1500
    bad = csqa("sql", "select * from nowhere", "--db", db)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    shell = subprocess.run([sys.executable, "-m", "csqa.pipeline.cli", "sql", "--db", str(db)],
                           input="select 40 + 2 as answer;\n", capture_output=True, text=True, timeout=60)
    assert shell.returncode == 0 and "42" in shell.stdout


def test_the_crontab_line_in_the_docs_works_as_written(tmp_path):
    """Take the crontab line from docs/OPERATIONS.md, point its paths at a temporary folder, run it with sh."""
    from tests.conftest import ROOT

    line = next(x for x in (ROOT / "docs" / "OPERATIONS.md").read_text().splitlines() if x.startswith("15 2 "))
    command = line.split(None, 6)[6]  # drop the five time fields and the user column
    srv = tmp_path / "srv"
    for d in ("inbox", "data", "log"):
        (srv / d).mkdir(parents=True)
    for f in ("interactions.csv", "faq_articles.csv"):
        (srv / "inbox" / f).write_bytes((SAMPLE / f).read_bytes())
    env_file = tmp_path / "env"
    env_file.write_text("CSQA_PSEUDONYM_KEY=from-the-env-file\n")
    command = (command.replace("/srv/csqa/.venv/bin/csqa", f"{sys.executable} -m csqa.pipeline.cli")
               .replace("/etc/csqa/env", str(env_file)).replace("/usr/local/bin/notify-oncall", "true")
               .replace("/srv/csqa", str(srv)))
    env = {k: v for k, v in os.environ.items() if k != "CSQA_PSEUDONYM_KEY"}
    env["PYTHONPATH"] = str(ROOT)
    r = subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (command, r.stderr, (srv / "log" / "nightly.err").read_text())
    summary = json.loads((srv / "log" / "nightly.jsonl").read_text().splitlines()[-1])
    assert summary["status"] == "ok" and summary["files_loaded"] == 2
    assert not (srv / "data" / "csqa.duckdb.key").exists()  # the key came from the env file
