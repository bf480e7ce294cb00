"""A big file's chunks validated on worker threads (pipeline/ingest/parallel.py): the same warehouse as one thread,
chunk by chunk and whole, and a file rejected mid-way leaves nothing behind."""

import shutil

import duckdb
import numpy as np
import pytest

from csqa.pipeline.config import load_config
from csqa.pipeline.ingest import parallel, read
from csqa.pipeline.ingest.load import load
from csqa.pipeline.ingest.read import inspect, iter_chunks
from tests.conftest import ROOT, query

# every table a load writes, with what differs between two loads of the same files by design left out
TABLES = {
    "raw.interactions": "* exclude (_source_file)",
    "raw.csat_surveys": "* exclude (_source_file)",
    "audit.quarantine": "* exclude (source_file)",
    "audit.load_batches": "entity, status, rows_read, rows_loaded, rows_quarantined, rows_duplicate, error, notes",
    "marts.fct_interactions": "*",
    "marts.kpi_daily": "*",
    "marts.faq_coverage": "*",
}


def _config(tmp_path, workers: int):
    path = tmp_path / f"w{workers}.toml"
    path.write_text(f"[warehouse]\nvalidate_workers = {workers}\n", encoding="utf-8")
    return load_config(path)


def _rows(db, table: str, cols: str) -> list:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return sorted(con.execute(f"select {cols} from {table}").fetchall(), key=repr)
    finally:
        con.close()


@pytest.fixture
def bad_records(dirty_set, tmp_path):
    """The dirty set plus records split wrongly (one field too many) and a bad value, spread over its chunks."""
    out = tmp_path / "set"
    shutil.copytree(dirty_set, out)
    path = out / "interactions.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for at in (5, 250, 251, 777):
        lines.insert(at, lines[at].rstrip("\n") + ",extra\n")
    lines.insert(400, lines[400].replace("2026-", "2O26-", 1))
    path.write_text("".join(lines), encoding="utf-8")
    return out


def test_workers_load_what_one_thread_loads(bad_records, tmp_path, monkeypatch):
    """Chunks of 97 records on 3 threads against the whole file on one: every raw row, quarantine row (with its
    record number), count and mart the same; and the workers did run."""
    one = tmp_path / "one" / "csqa.duckdb"
    load([bad_records], one, _config(tmp_path, 1))

    calls = []
    real = parallel._on_workers
    monkeypatch.setattr(parallel, "_on_workers", lambda *a: calls.append(a[-1]) or real(*a))
    monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(read, "CHUNK_ROWS", 97)
    many = tmp_path / "many" / "csqa.duckdb"
    s = load([bad_records], many, _config(tmp_path, 3))
    assert calls and set(calls) == {3}  # every file of the set on 3 workers
    assert s.count("loaded") == len(list(bad_records.iterdir())) and s.count("rejected") == 0

    for table, cols in TABLES.items():
        assert _rows(one, table, cols) == _rows(many, table, cols), table
    q = query(many, "select row_number, check_name from audit.quarantine where check_name like 'field_count%'")
    assert len(q) == 4  # the four split records, each with its own record number
    read_, loaded, bad, dup = query(many, "select rows_read, rows_loaded, rows_quarantined, rows_duplicate "
                                          "from audit.load_batches where entity = 'interactions'")[0]
    assert read_ == loaded + bad + dup and read_ == len(
        (bad_records / "interactions.csv").read_text(encoding="utf-8").splitlines()) - 1


def test_csv_chunks_are_cut_at_the_same_records_whatever_their_size(bad_records):
    """Chunks of 97 records: record numbers and split records as one chunk has them (pyarrow reads the file in
    blocks; a chunk is cut out of them and the rest carried to the next)."""
    spec = inspect(bad_records / "interactions.csv", load_config(ROOT / "pipeline" / "default_config.toml"))
    whole = list(iter_chunks(spec, 10**9))
    assert len(whole) == 1
    small = list(iter_chunks(spec, 97))
    assert [len(c.frame) for c in small[:-1]] == [97] * (len(small) - 1) and 0 < len(small[-1].frame) <= 97
    assert np.array_equal(np.concatenate([c.row_numbers for c in small]), whole[0].row_numbers)
    assert [m for c in small for m in c.malformed] == whole[0].malformed
    assert [r for c in small for r in c.frame.itertuples(index=False)] == list(whole[0].frame.itertuples(index=False))


def test_a_file_rejected_mid_way_on_workers_leaves_the_warehouse_as_it_was(small_set, tmp_path, monkeypatch):
    """Invalid UTF-8 in a value near the end of a file read on workers: the file is rejected with the reason, the
    other files load, and nothing of the bad one is staged (its chunks already validated included)."""
    out = tmp_path / "set"
    shutil.copytree(small_set, out)
    path = out / "interactions.csv"
    header, _, rows = path.read_bytes().partition(b"\n")
    repeats = -(-(read.SNIFF_BYTES + 1) // len(rows)) + 1  # past the head read to detect the encoding
    path.write_bytes(header + b"\n" + rows * repeats + rows.replace(b",", b"\xff,", 1))  # a byte no UTF-8 has
    monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(read, "CHUNK_ROWS", 50)
    db = tmp_path / "wh" / "csqa.duckdb"
    s = load([out], db, _config(tmp_path, 2))
    bad = next(r for r in s.files if r.source_file.endswith("interactions.csv"))
    assert bad.status == "rejected" and "invalid utf-8" in bad.error.lower()
    assert query(db, "select count(*) from raw.interactions")[0][0] == 0
    assert query(db, "select count(*) from audit.quarantine where source_file like '%interactions.csv'")[0][0] == 0
    assert s.count("loaded") == 3  # messages, surveys, FAQ articles


def test_worker_count(tmp_path, monkeypatch):
    # the cores this process may use (a container's cpuset), not the machine's
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 16)
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: {3})
    assert parallel._cores() == 1
    monkeypatch.undo()
    monkeypatch.setattr(parallel, "_cores", lambda: 16)
    assert parallel.worker_count(_config(tmp_path, 0)) == parallel.MAX_WORKERS
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    assert parallel.worker_count(_config(tmp_path, 0)) == 2
    assert parallel.worker_count(_config(tmp_path, 1)) == 1
