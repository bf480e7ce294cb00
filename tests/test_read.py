"""Reading files: encodings, delimiters, formats, entity detection, mapping, hostile files."""

import json

import pandas as pd
import pytest

from csqa.pipeline.config import load_config
from csqa.pipeline.ingest.load import load
from csqa.pipeline.ingest.read import inspect
from tests.conftest import INTERACTION_HEADER, interaction_row, query, write

ZH = interaction_row("Z1", language="zh-CN", region="CN", message="提现一直显示审核中,什么时候能到?")


def _load_one(path, db, config):
    s = load([path], db, config)
    return s.files[0]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_chinese_text_survives_each_encoding(tmp_path, db, config, encoding):
    p = write(tmp_path / "interactions.csv", f"{INTERACTION_HEADER}\n{ZH}\n", encoding)
    f = _load_one(p, db, config)
    assert f.status == "loaded" and f.rows_loaded == 1
    assert query(db, "select first_message from raw.interactions")[0][0] == "提现一直显示审核中,什么时候能到?"
    assert query(db, "select interaction_id from raw.interactions")[0][0] == "Z1"  # no BOM in the first key


def test_a_windows_1252_export_is_refused_not_read_as_chinese_and_loads_when_configured(tmp_path, db, config):
    """An "Excel CSV" (Windows-1252) export decodes as GB18030 too: it used to load with exit 0 as 'J黵gen M黮ler'
    and '躡erweisung fehlt'. Auto-detection now refuses it, naming the setting; with encoding = "windows-1252"
    it loads as written. (Chinese GB18030 files still load: test_chinese_text_survives_each_encoding.)"""
    rows = [interaction_row("W1", agent="Jürgen Müller", message="Überweisung fehlt, bitte prüfen"),
            interaction_row("W2", agent="Jürgen Müller", message="Karte gesperrt, Straße geändert")]
    text = f"{INTERACTION_HEADER}\n" + "\n".join(rows) + "\n"
    path = write(tmp_path / "interactions.csv", text, "windows-1252")
    f = _load_one(path, db, config)
    assert f.status == "rejected" and "Windows-1252" in f.error and 'encoding = "windows-1252"' in f.error, f.error
    assert not db.exists() or query(db, "select count(*) from raw.interactions") == [(0,)]
    cfg = write(tmp_path / "csqa.toml", '[sources.excel]\nmatch = "interactions*.csv"\nencoding = "windows-1252"\n')
    f = _load_one(path, db, load_config(cfg))
    assert f.status == "loaded" and f.rows_loaded == 2 and "read as Windows-1252" in f.notes, f
    got = {r[0]: r[1:] for r in query(db, "select interaction_id, first_message, agent_id from raw.interactions")}
    assert got == {"W1": ("Überweisung fehlt, bitte prüfen", "Jürgen Müller"),
                   "W2": ("Karte gesperrt, Straße geändert", "Jürgen Müller")}


@pytest.mark.parametrize(("agents", "encoding", "refused"), [
    ("Ángel|Óscar|Élodie|Álvaro|Úrsula", "windows-1252", True),  # accents only at the start of words
    ("Amy珺|Leo昇|Tom瑄", "gb18030", False),  # Chinese names outside GB2312, next to Latin letters
    ("王磊|李娜|Lei Wang", "gb18030", False),
])
def test_the_windows_1252_guess_on_names(tmp_path, db, config, agents, encoding, refused):
    rows = [interaction_row(f"N{i}", agent=a, message="hello") for i, a in enumerate(agents.split("|"))]
    path = write(tmp_path / "interactions.csv", f"{INTERACTION_HEADER}\n" + "\n".join(rows) + "\n", encoding)
    f = _load_one(path, db, config)
    if refused:
        assert f.status == "rejected" and 'encoding = "windows-1252"' in f.error and "gb18030" in f.error, f.error
    else:
        assert f.status == "loaded", f.error
        assert sorted(r[0] for r in query(db, "select agent_id from raw.interactions")) == sorted(agents.split("|"))


def test_a_latin_file_that_is_not_gb18030_either_is_told_about_windows_1252(tmp_path, db, config):
    path = write(tmp_path / "interactions.csv",
                 f"{INTERACTION_HEADER}\n{interaction_row('F1', agent='André René', message='à bientôt')}\n",
                 "windows-1252")
    f = _load_one(path, db, config)
    assert f.status == "rejected" and "neither UTF-8 nor GB18030" in f.error and "windows-1252" in f.error, f.error


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiter_is_detected(tmp_path, db, config, delimiter):
    text = f"{INTERACTION_HEADER}\n{interaction_row('D1')}\n".replace(",", delimiter)
    f = _load_one(write(tmp_path / "interactions.csv", text), db, config)
    assert f.status == "loaded" and f.rows_loaded == 1
    assert any("delimiter" in n for n in f.notes)


def test_carriage_return_and_newline_inside_a_quoted_field(tmp_path, db, config):
    row = interaction_row("CR1", message="line one\r\nline two\rthree")
    f = _load_one(write(tmp_path / "interactions.csv", f"{INTERACTION_HEADER}\r\n{row}\r\n"), db, config)
    assert f.rows_loaded == 1
    assert query(db, "select first_message from raw.interactions")[0][0] == "line one\r\nline two\rthree"


def test_row_with_wrong_field_count_is_quarantined_not_lost(tmp_path, db, config):
    rows = [interaction_row("A"), interaction_row("B") + ",extra", interaction_row("C")]
    f = _load_one(write(tmp_path / "interactions.csv", "\n".join([INTERACTION_HEADER, *rows]) + "\n"), db, config)
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (3, 2, 1)
    q = query(db, "select row_number, column_name, check_name from audit.quarantine")
    assert q == [(2, None, "field_count (expected 18, got 19)")]
    got = query(db, "select interaction_id, _row_number from raw.interactions order by 1")
    assert got == [("A", 1), ("C", 3)]


def test_very_long_line_loads(tmp_path, db, config):
    row = interaction_row("L1", message="x" * 3_000_000)
    f = _load_one(write(tmp_path / "interactions.csv", f"{INTERACTION_HEADER}\n{row}\n"), db, config)
    assert f.rows_loaded == 1
    assert query(db, "select length(first_message) from raw.interactions")[0][0] == 3_000_000


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("data.csv", b"", "the file is empty, and its name does not say which entity"),  # (named: no rows)
        ("interactions.parquet", b"", "not a readable Parquet file"),
        ("interactions.csv", b"\xff\xfei\x00d\x00", "UTF-16"),
        ("interactions.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("interactions.csv", b"a;b\n1;2\n", "required column(s) missing"),
        ("interactions.csv", b'"' + b"a" * 200_000 + b'",b\n1,2\n', "not a header of column names"),  # was exit 1
        ("interactions.csv", b"\x81\x30\xff\xfe\xfd not text at all \xc3\x28", "neither UTF-8 nor GB18030"),
        ("notes.xlsx", b"PK\x03\x04", "unsupported file type"),
        ("data.csv", b"foo,bar\n1,2\n", "cannot tell which entity"),
        ("interactions.jsonl", b"this is not json\n", "no JSON object"),
        ("interactions.parquet", b"PAR1 garbage", "not a readable Parquet file"),
    ],
)
def test_hostile_file_is_rejected_with_one_clear_message(tmp_path, db, config, name, content, message):
    p = tmp_path / name
    p.write_bytes(content)
    f = _load_one(p, db, config)
    assert f.status == "rejected"
    assert message in f.error
    assert name in f.error


def test_invalid_utf8_after_the_sniffed_head_rejects_the_file(tmp_path, db, config):
    good = "\n".join(interaction_row(f"I{i}") for i in range(20000))
    bad_row = interaction_row("I9", message="BAD").encode().replace(b"BAD", b"\xff\xfe")
    body = (f"{INTERACTION_HEADER}\n{good}\n").encode() + bad_row + b"\n"
    p = tmp_path / "interactions.csv"
    p.write_bytes(body)
    f = _load_one(p, db, config)
    assert f.status == "rejected" and "UTF" in f.error.upper()
    assert query(db, "select count(*) from raw.interactions")[0][0] == 0  # nothing half-loaded


def test_a_split_record_that_is_not_text_either_rejects_the_file_with_its_number(tmp_path, db, config, capfd):
    """pyarrow decodes such a record before calling the quarantine handler; the decode error was printed as
    'Exception ignored' with a traceback and the file refused with a bare parse error."""
    good = "\n".join(interaction_row(f"I{i}") for i in range(20000))
    body = f"{INTERACTION_HEADER}\n{good}\n".encode() + b"\xff\xfe broken\n" + interaction_row("Z1").encode() + b"\n"
    p = tmp_path / "interactions.csv"
    p.write_bytes(body)
    f = _load_one(p, db, config)
    assert f.status == "rejected"
    assert "record 20001 is not valid utf-8 text and does not split into the header's 18 columns" in f.error
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert query(db, "select count(*) from raw.interactions")[0][0] == 0


def test_entity_from_columns_when_the_name_says_nothing(tmp_path, config):
    p = write(tmp_path / "export_2026_11_24.csv",
              "survey_id,interaction_id,sent_at,responded_at,score\nS,I,2026-11-02T10:00:00Z,,\n")
    assert inspect(p, config).entity == "csat_surveys"


def test_column_mapping_loads_a_foreign_export(tmp_path, db):
    cfg = write(tmp_path / "csqa.toml", """
[sources.helpdesk]
match = "helpdesk_*.csv"
entity = "interactions"
timezone = "Asia/Shanghai"
[sources.helpdesk.columns]
"Ticket ID" = "interaction_id"
"Via" = "channel"
"Created" = "created_at"
"Status" = "status"
"Priority" = "priority"
"Requester" = "customer_id"
"Locale" = "language"
""")
    config = load_config(cfg)
    text = ("Ticket ID,Via,Created,Status,Priority,Requester,Locale,Satisfaction\n"
            "T-1,email,2026-11-02 17:00:00,open,high,u9,zh-CN,good\n")
    f = _load_one(write(tmp_path / "helpdesk_tickets.csv", text), db, config)
    assert f.status == "loaded" and f.rows_loaded == 1, f
    assert any("ignored columns: Satisfaction" in n for n in f.notes)
    assert any("defaulted columns" in n for n in f.notes)
    got = query(db, "select interaction_id, channel, created_at, handled_by_bot, reopen_count from raw.interactions")
    iid, channel, created, bot, reopen = got[0]
    assert (iid, channel, bot, reopen) == ("T-1", "email", False, 0)
    assert created == pd.Timestamp("2026-11-02T09:00:00Z")


def test_jsonl_and_parquet_load_the_same_rows_as_csv(tmp_path, config):
    from csqa.pipeline.synth.generate import generate

    for fmt in ("csv", "jsonl", "parquet"):
        generate(tmp_path / fmt, n=300, days=7, seed=2, fmt=fmt)
        load([tmp_path / fmt], tmp_path / f"{fmt}.duckdb", config)
    def rows(fmt, table):
        return query(tmp_path / f"{fmt}.duckdb",
                     f"select * exclude (_batch_id, _source_file) from raw.{table} order by all")
    for table in ("interactions", "messages", "csat_surveys", "faq_articles"):
        assert rows("csv", table) == rows("jsonl", table) == rows("parquet", table), table


def test_bad_json_line_is_quarantined(tmp_path, db, config):
    good = {"message_id": "M1", "interaction_id": "I1", "sender_role": "agent",
            "sent_at": "2026-11-02T09:00:00Z", "is_public": True, "text": "hi"}
    text = json.dumps(good) + "\n{broken\n" + json.dumps({**good, "message_id": "M2"}) + "\n"
    f = _load_one(write(tmp_path / "messages.jsonl", text), db, config)
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (3, 2, 1)
    assert query(db, "select row_number, check_name from audit.quarantine")[0][0] == 2


def test_a_header_alone_is_a_file_without_data_rows_with_or_without_its_line_end(tmp_path, db, config):
    """The header with no line end after it was refused as 'a record is too long to read'; now it loads as the same
    header with its line end does: no rows, the note 'no data rows'."""
    results = []
    for name, text in (("a_interactions.csv", INTERACTION_HEADER.rstrip("\r\n")),
                       ("b_interactions.csv", INTERACTION_HEADER.rstrip("\r\n") + "\n")):
        d = tmp_path / name.split("_")[0]
        d.mkdir()
        (d / name).write_text(text, encoding="utf-8")
        s = load([d / name], tmp_path / f"{name}.duckdb", config)
        results.append((s.files[0].status, s.files[0].rows_read, s.files[0].notes))
    assert results[0] == results[1] and results[0][:2] == ("loaded", 0) and "no data rows" in results[0][2]
