"""The batch's stage (pipeline/ingest/stage.py): Parquet files beside the warehouse, read as views."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from csqa.pipeline.ingest.load import load
from csqa.pipeline.ingest.stage import SUFFIX, Stage, folder_for
from csqa.pipeline.model.warehouse import migrate
from tests.conftest import INTERACTION_HEADER, interaction_row, write


@pytest.fixture
def con(tmp_path):
    c = duckdb.connect(str(tmp_path / "w.duckdb"))
    c.execute("set timezone = 'UTC'")
    migrate(c)
    yield c
    c.close()


def _by_name(con, frame: pd.DataFrame) -> list[tuple]:
    """What an ``insert ... by name`` into a table of the stage's columns makes of the frame (how chunks were
    staged before)."""
    con.execute("create or replace temp table _oracle as select * exclude (_batch_id, _source_file), "
                "0::integer as _file_seq from raw.interactions limit 0")
    con.register("_f", frame)
    con.execute("insert into _oracle by name select * from _f")
    con.unregister("_f")
    return con.execute("select * from _oracle order by _row_number").fetchall()


def test_a_chunk_is_staged_as_an_insert_by_name_would_store_it(con, tmp_path):
    when = pd.to_datetime(["2026-03-01 08:00", None], utc=True)
    typed = pd.DataFrame({  # as validation gives it: Arrow strings, UTC timestamps, nullable integers
        "interaction_id": pd.array(["I1", "I2"], dtype="str"), "channel": pd.array(["email", None], dtype="str"),
        "created_at": when, "reopen_count": pd.array([3, None], dtype="Int64"),
        "handled_by_bot": pd.array([True, None], dtype="boolean"),
        "subject": pd.array(["¿dónde?", "提现"], dtype="str"),
        "_row_number": [1, 2], "_file_seq": [1, 1]})
    loose = pd.DataFrame({  # what Arrow does not cast safely: text for numbers, mixed objects
        "interaction_id": ["I3", "I4"], "reopen_count": ["7", "0"], "created_at": ["2026-03-02 10:00:00+00", None],
        "topic": pd.Series([1, "kyc"], dtype=object), "agent_id": [1.0, 2.5], "_row_number": [3, 4],
        "_file_seq": [1, 1]})
    stage = Stage(con, tmp_path / "stage")
    assert stage.append("interactions", 1, typed) == 2
    assert stage.append("interactions", 1, loose) == 2
    staged = con.execute("select * from stage_interactions order by _row_number").fetchall()
    assert staged == _by_name(con, typed) + _by_name(con, loose)
    assert [r[0] for r in staged] == ["I1", "I2", "I3", "I4"]
    assert [r[8] for r in staged][2:] == ["1.0", "2.5"]  # a number into text: DuckDB's text for it, as before
    with pytest.raises(ValueError, match=r"no such column in raw\.interactions: agent"):
        stage.append("interactions", 1, typed.rename(columns={"agent_id": "agent"}).assign(agent="a1"))
    stage.close()
    assert not (tmp_path / "stage").exists()


def test_removed_rows_and_a_dropped_file_leave_the_views(con, tmp_path):
    stage = Stage(con, tmp_path / "stage")
    for seq in (1, 2):
        stage.append("interactions", seq, pd.DataFrame({"interaction_id": [f"I{seq}a", f"I{seq}b"],
                                                        "_row_number": [1, 2], "_file_seq": [seq, seq]}))
    con.execute("insert into stage_quarantine (row_number, _file_seq) values (5, 2)")
    stage.remove("interactions", "select 1, 2")  # file 1, record 2
    assert con.execute("select interaction_id from stage_interactions order by all").fetchall() == [
        ("I1a",), ("I2a",), ("I2b",)]
    stage.drop_file(2)
    assert con.execute("select interaction_id from stage_interactions").fetchall() == [("I1a",)]
    assert con.execute("select count(*) from stage_quarantine").fetchall() == [(0,)]
    assert [p.name for p in (tmp_path / "stage").iterdir()] == ["interactions-1-1.staged"]
    stage.close()


def test_a_load_stages_beside_the_warehouse_and_removes_a_killed_loads_folder(tmp_path, config, monkeypatch):
    import csqa.pipeline.ingest.load as L

    db = tmp_path / "wh" / "csqa.duckdb"
    left = folder_for(db)
    left.mkdir(parents=True)
    (left / "interactions-1-1.staged").write_bytes(b"a killed load's half-written file")
    seen = []
    upsert = L._upsert

    def spy(con, *args, **kwargs):  # while the batch is written: what the stage folder holds
        seen.extend(sorted(p.name for p in left.iterdir()))
        return upsert(con, *args, **kwargs)

    monkeypatch.setattr(L, "_upsert", spy)
    summary = load([write(tmp_path / "in" / "interactions.csv", f"{INTERACTION_HEADER}\n{interaction_row('I1')}\n")],
                   db, config)
    assert summary.files[0].rows_loaded == 1
    assert seen == ["interactions-1-1.staged"]  # this load's file, not the killed one's (same name, rewritten)
    assert not left.exists()


def test_a_killed_loads_folder_inside_the_folder_being_loaded_is_not_input(tmp_path, config):
    """The warehouse in the folder a nightly loads: a killed load's staged files are not read as an export."""
    db = tmp_path / "data" / "csqa.duckdb"
    write(tmp_path / "data" / "in" / "interactions.csv", f"{INTERACTION_HEADER}\n{interaction_row('I1')}\n")
    left = folder_for(db)
    left.mkdir(parents=True)
    pd.DataFrame({"interaction_id": ["X9"]}).to_parquet(left / f"interactions-1-1{SUFFIX}")  # as the stage names it
    summary = load([tmp_path / "data"], db, config)
    assert [(f.source_file.endswith("interactions.csv"), f.status) for f in summary.files] == [(True, "loaded")]
    assert not left.exists()


def test_a_full_disk_while_staging_is_one_message_and_writes_nothing(tmp_path, config, monkeypatch, capsys):
    import errno

    import pyarrow.parquet as pq

    from csqa.pipeline import cli

    db = tmp_path / "csqa.duckdb"
    csv = write(tmp_path / "in" / "interactions.csv", f"{INTERACTION_HEADER}\n{interaction_row('I1')}\n")

    def full(*_a, **_k):  # what the file system says when the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq, "write_table", full)
    assert cli.main(["load", str(csv), "--db", str(db)]) == 4
    err = capsys.readouterr().err
    assert "cannot stage the batch in" in err and "No space left on device" in err and "Traceback" not in err
    assert not folder_for(db).exists()
    with duckdb.connect(str(db), read_only=True) as c:
        assert c.execute("select count(*) from raw.interactions").fetchall() == [(0,)]


def test_a_load_loads_the_faq_embeddings_once_with_its_warm_up(tmp_path, config, monkeypatch):
    import wordllama

    from csqa.pipeline.faq import text

    calls = []
    real = wordllama.WordLlama.load

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(wordllama.WordLlama, "load", counted)
    text._load_embedder.cache_clear()
    rows = "\n".join(interaction_row(f"I{i}", message=f"where is my withdrawal number {i}") for i in range(30))
    load([write(tmp_path / "in" / "interactions.csv", f"{INTERACTION_HEADER}\n{rows}\n")], tmp_path / "w.duckdb",
         config)
    assert calls == [1]  # by the warm-up or the refresh, not both


def test_a_linked_stage_folder_keeps_what_else_it_holds(tmp_path, config):
    """The stage folder linked to another disk: a load deletes its own staged files there, nothing else."""
    db = tmp_path / "wh" / "csqa.duckdb"
    elsewhere = tmp_path / "big-disk"
    (elsewhere / "sub").mkdir(parents=True)
    (elsewhere / "notes.txt").write_text("keep")
    (elsewhere / f"interactions-1-1{SUFFIX}").write_bytes(b"a killed load's")
    db.parent.mkdir()
    folder_for(db).symlink_to(elsewhere)
    csv = write(tmp_path / "in" / "interactions.csv", f"{INTERACTION_HEADER}\n{interaction_row('I1')}\n")
    assert load([csv], db, config).files[0].rows_loaded == 1
    assert folder_for(db).is_symlink() and sorted(p.name for p in elsewhere.iterdir()) == ["notes.txt", "sub"]


def test_a_file_in_the_stage_folders_place_is_one_message(tmp_path, config, capsys):
    from csqa.pipeline import cli

    db = tmp_path / "csqa.duckdb"
    folder_for(db).write_text("not a folder")
    csv = write(tmp_path / "in" / "interactions.csv", f"{INTERACTION_HEADER}\n{interaction_row('I1')}\n")
    assert cli.main(["load", str(csv), "--db", str(db)]) == 4
    err = capsys.readouterr().err
    assert "csqa.duckdb.stage is in the way" in err and "Traceback" not in err
    assert folder_for(db).read_text() == "not a folder"


def test_a_spill_that_cannot_be_written_is_the_staging_message(con, tmp_path):
    from csqa.pipeline.errors import WarehouseError

    stage = Stage(con, tmp_path / "stage")
    assert con.execute(f"select count(*) from {stage.spill('ok', 'select 1 as a')}").fetchall() == [(1,)]
    (tmp_path / "stage" / f"ok{SUFFIX}").unlink()
    (tmp_path / "stage").rmdir()  # gone from under the load (as a full or lost disk would fail the write)
    with pytest.raises(WarehouseError, match=r"cannot stage the batch in .*stage"):
        stage.spill("winners-interactions", "select 1 as a")
