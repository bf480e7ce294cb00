"""Each check of the data contract, with a good and a bad row."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from csqa.pipeline.ingest.contract import column_types
from csqa.pipeline.ingest.read import FileSpec, RawChunk, _finish
from csqa.pipeline.ingest.validate import validate_chunk

GOOD = {
    "interactions": dict(
        interaction_id="I1", channel="web_chat", created_at="2026-11-02T09:00:00Z",
        first_response_at="2026-11-02T09:02:00+00:00", resolved_at="2026-11-02T17:30:00+08:00",
        status="closed", priority="normal", customer_id="u1", agent_id="a1", team="t", language="zh-CN",
        region="CN", topic="kyc", subject="身份认证", first_message="审核多久?", handled_by_bot="false",
        reopen_count="0", updated_at="2026-11-02T09:30:00Z",
    ),
    "messages": dict(message_id="M1", interaction_id="I1", sender_role="agent",
                     sent_at="2026-11-02T09:02:00Z", is_public="true", text="hi"),
    "csat_surveys": dict(survey_id="S1", interaction_id="I1", sent_at="2026-11-02T10:00:00Z",
                         responded_at="2026-11-04T10:00:00Z", score="4", comment="ok"),
    "faq_articles": dict(article_id="F1", topic="kyc", language="en", title="How to verify", body="...",
                         status="published", published_at="2026-01-01T00:00:00Z",
                         updated_at="2026-01-01T00:00:00Z"),
}


def run(entity, rows, config, tz=None):
    df = pd.DataFrame(rows).astype("str")
    spec = FileSpec(path=Path("x.csv"), entity=entity, fmt="csv", encoding="utf-8", delimiter=",",
                    timezone=tz, mapping={c: c for c in df.columns}, header=list(df.columns))
    chunk = RawChunk(_finish(spec, df), np.arange(1, len(df) + 1), [])
    return validate_chunk(spec, chunk, config, key=b"k")


@pytest.mark.parametrize("entity", list(GOOD))
def test_good_row_passes(entity, config):
    v = run(entity, [GOOD[entity]], config)
    assert v.failures.empty, v.failures.to_dict("records")
    assert len(v.good) == 1
    extra = ["topic_label"] if entity == "interactions" else []  # the tag as written, beside its slug
    assert list(v.good.columns[:-1]) == [*column_types(entity), *extra]


FUTURE = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=2)  # past the tolerance of a day
BAD = [
    # entity, column, bad value, expected check (substring)
    ("interactions", "interaction_id", "", "not_nullable"),
    ("interactions", "channel", "fax", "isin"),
    ("interactions", "created_at", "", "not_nullable"),
    ("interactions", "created_at", "2026-11-02 09:00:00", "timestamp_has_offset"),
    ("interactions", "created_at", "02/11/2026 9am", "parse_timestamp_iso8601"),
    ("interactions", "first_response_at", "2026-11-01T00:00:00Z", "first_response_not_before_creation"),
    ("interactions", "resolved_at", "2026-11-01T00:00:00Z", "resolution_not_before_creation"),
    ("interactions", "resolved_at", "", "resolved_status_has_resolution_time"),
    ("interactions", "updated_at", "2026-11-01T00:00:00Z", "updated_not_before_creation"),
    ("interactions", "status", "solved", "isin"),
    ("interactions", "priority", "P0", "isin"),
    ("interactions", "customer_id", "", "not_nullable"),
    ("interactions", "language", "Chinese", "str_matches"),
    ("interactions", "region", "China", "str_matches"),
    ("interactions", "topic", "提现问题", "str_matches"),  # nothing left after the slug rule
    ("interactions", "handled_by_bot", "maybe", "parse_boolean"),
    ("interactions", "reopen_count", "-1", "greater_than_or_equal_to"),
    ("interactions", "reopen_count", "1.5", "parse_integer"),
    # a day past the clock is allowed; a year is a typo that would move every open interaction's as-of time
    ("interactions", "updated_at", "2062-11-20T10:00:00Z", "not_in_the_future"),
    ("interactions", "resolved_at", f"{FUTURE:%Y-%m-%dT%H:%M:%SZ}", "not_in_the_future"),
    ("messages", "sent_at", "2062-11-20T10:00:00Z", "not_in_the_future"),
    ("csat_surveys", "responded_at", f"{FUTURE:%Y-%m-%dT%H:%M:%SZ}", "not_in_the_future"),
    ("messages", "sender_role", "robot", "isin"),
    ("messages", "is_public", "sometimes", "parse_boolean"),
    ("messages", "sent_at", "", "not_nullable"),
    ("csat_surveys", "score", "7", "less_than_or_equal_to"),
    ("csat_surveys", "score", "0", "greater_than_or_equal_to"),
    ("csat_surveys", "score", "good", "parse_integer"),
    ("csat_surveys", "responded_at", "2026-11-01T00:00:00Z", "response_not_before_sending"),
    ("csat_surveys", "responded_at", "", "score_needs_response_time"),
    ("faq_articles", "status", "live", "isin"),
    ("faq_articles", "published_at", "", "published_article_has_publication_time"),
    ("faq_articles", "title", "", "not_nullable"),
]


def test_a_timestamp_within_a_day_of_the_clock_is_not_in_the_future(config):
    """A clock out of step, or a local time read in a wrong zone, is at most a day ahead: such rows load."""
    soon = f"{pd.Timestamp.now(tz='UTC') + pd.Timedelta(hours=20):%Y-%m-%dT%H:%M:%SZ}"
    v = run("interactions", [{**GOOD["interactions"], "updated_at": soon, "resolved_at": soon}], config)
    assert v.failures.empty, v.failures.to_dict("records")
    assert len(v.good) == 1


@pytest.mark.parametrize(("entity", "column", "value", "check"), BAD)
def test_bad_value_is_quarantined_with_column_check_and_value(entity, column, value, check, config):
    good = GOOD[entity]
    bad = {**good, column: value}
    v = run(entity, [good, bad], config)
    assert len(v.good) == 1 and v.good["_row_number"].tolist() == [1]
    assert v.rows_bad == 1
    f = v.failures
    assert set(f.row_number) == {2}
    hit = f[f.check_name.str.contains(check, regex=False)]
    assert len(hit) == 1, f.to_dict("records")
    assert column in hit.column_name.iloc[0]
    if value and "," not in hit.column_name.iloc[0]:
        assert hit.failing_value.iloc[0] == value
    assert f'"{column}"' in hit.raw_row.iloc[0]


def test_naive_timestamp_accepted_in_configured_zone(config):
    row = {**GOOD["interactions"], "created_at": "2026-11-02 17:00:00",
           "first_response_at": "2026-11-02T09:02:00Z"}
    v = run("interactions", [row], config, tz="Asia/Shanghai")
    assert v.failures.empty
    assert v.good.created_at.iloc[0] == pd.Timestamp("2026-11-02T09:00:00Z")


def test_dst_gaps_and_folds_in_configured_zone(config):
    # Europe/Berlin: 2026-03-29 02:30 does not exist; 2026-10-25 02:30 happens twice
    rows = [
        {**GOOD["interactions"], "interaction_id": "gap", "created_at": "2026-03-29 02:30:00",
         "first_response_at": "", "resolved_at": "", "status": "open", "updated_at": "2026-03-29T09:00:00Z"},
        {**GOOD["interactions"], "interaction_id": "fold", "created_at": "2026-10-25 02:30:00",
         "first_response_at": "", "resolved_at": "", "status": "open", "updated_at": "2026-10-25T09:00:00Z"},
    ]
    v = run("interactions", rows, config, tz="Europe/Berlin")
    assert v.failures.empty
    got = dict(zip(v.good.interaction_id, v.good.created_at, strict=True))
    assert got["gap"] == pd.Timestamp("2026-03-29T01:00:00Z")  # moved forward to 03:00 CEST
    assert got["fold"] == pd.Timestamp("2026-10-25T00:30:00Z")  # the first (summer-time) 02:30


def test_offsets_are_converted_to_utc(config):
    v = run("interactions", [GOOD["interactions"]], config)
    assert v.good.resolved_at.iloc[0] == pd.Timestamp("2026-11-02T09:30:00Z")
    assert str(v.good.created_at.dtype) == "datetime64[us, UTC]"


def test_updated_at_is_derived_when_the_file_has_none(config):
    row = dict(GOOD["interactions"])
    row.pop("updated_at")
    v = run("interactions", [row], config)
    assert v.good.updated_at.iloc[0] == pd.Timestamp("2026-11-02T09:30:00Z")


def test_one_fault_is_reported_once(config):
    bad = {**GOOD["interactions"], "created_at": "not a time"}
    v = run("interactions", [bad], config)
    assert v.failures.check_name.tolist() == ["parse_timestamp_iso8601"]
    # a time that parses but fails its own check is not also "before" or "after" each other time (a new user's
    # review: a created_at typed 2062 was reported four times); a cross-column fault of its own is still reported
    future = {**GOOD["interactions"], "created_at": "2062-10-01T10:00:00Z"}
    early = {**GOOD["interactions"], "interaction_id": "I2", "first_response_at": "2026-11-02T08:00:00Z"}
    v = run("interactions", [future, early], config)
    got = sorted(zip(v.failures.row_number, v.failures.check_name, v.failures.column_name, strict=True))
    assert got == [(1, "not_in_the_future", "created_at"),
                   (2, "first_response_not_before_creation", "created_at,first_response_at")]


def test_validating_imports_neither_pyspark_nor_hypothesis(tmp_path):
    """pandera looks for pyspark.pandas and hypothesis (both installed here); a load validates without importing
    them (start-up cost), and both stay importable in the same process afterwards (the Spark engine)."""
    import subprocess
    import sys

    code = """
import sys
from pathlib import Path
from csqa.pipeline.config import load_config
from csqa.pipeline.ingest.read import inspect, iter_chunks
from csqa.pipeline.ingest.validate import validate_chunk
config = load_config(None)
spec = inspect(Path(sys.argv[1]), config)
rows = sum(len(validate_chunk(spec, c, config, b"k").good) for c in iter_chunks(spec))
print(rows, sorted({m.split(".")[0] for m in sys.modules} & {"pyspark", "hypothesis"}))
import pyspark.sql, hypothesis
print("importable")
"""
    csv = tmp_path / "interactions.csv"
    pd.DataFrame([GOOD["interactions"]]).to_csv(csv, index=False)
    r = subprocess.run([sys.executable, "-c", code, str(csv)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split("\n")[:2] == ["1 []", "importable"]


# ids at the edges of ID_PATTERN (`^[^\s].{0,127}$` as Python's re reads it): blanks RE2's `\s` does not know,
# line breaks (Python's `$` also matches before a final one), lengths around 128 in ASCII and in other scripts
TRICKY_IDS = [
    "I1", "a b", "~x", "!", " I1", "\tI1", "\x0bI1", "\x1cI1", "\x85I1", "\xa0I1", "\u3000I1", "\u2028I1",
    "I1\n", "I1\n\n", "I\n1", "\nI1", "I1\r", "I1\x0b", "I\x001", "x" * 128, "x" * 129, "x" * 128 + "\n",
    "é" * 128, "é" * 129, "工单-42", "😀" * 5, "I1 ", "x" * 127 + "é",
]


def test_fast_id_check_gives_python_re_s_answer():
    import re

    from csqa.pipeline.ingest.contract import ID_PATTERN, _id_matches

    s = pd.Series(TRICKY_IDS, dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    expected = [re.match(ID_PATTERN, v) is not None for v in TRICKY_IDS]
    assert _id_matches(s).tolist() == expected
    assert not all(expected) and any(expected)


@pytest.mark.parametrize("entity", ["interactions", "messages", "csat_surveys", "faq_articles"])
def test_fast_id_check_reports_what_the_declared_check_reports(entity, config):
    from csqa.pipeline.ingest.contract import MODELS, _id_matches, pa, schema_for

    declared = MODELS[entity].to_schema()  # pandera's own str_matches
    fast = schema_for(entity, config)
    ids = [c for c, col in declared.columns.items()
           if any(ch.statistics.get("pattern") == r"^[^\s].{0,127}$" for ch in col.checks)]
    assert ids
    for col in ids:
        assert [repr(c) for c in fast.columns[col].checks] == [repr(c) for c in declared.columns[col].checks]
        assert any(c._check_fn is _id_matches for c in fast.columns[col].checks)  # the fast path runs
        frame = pd.DataFrame({col: pd.Series(TRICKY_IDS, dtype=pd.StringDtype("pyarrow", na_value=np.nan))})
        outcomes = []
        for schema in (declared, fast):
            one = pa.DataFrameSchema({col: schema.columns[col]})
            with pytest.raises(pa.errors.SchemaErrors) as err:
                one.validate(frame, lazy=True)
            fc = err.value.failure_cases
            outcomes.append(fc[["column", "check", "failure_case", "index"]].to_dict("records"))
        assert outcomes[0] == outcomes[1]
        assert len(outcomes[0]) >= 10


EDGE_TIMESTAMPS = [
    "2026-11-02T09:00:00Z", " 2026-11-02T09:00:00Z ", "2026-11-02T09:00:00z", "2026-11-02t09:00:00Z",
    "2026-11-02 09:00:00Z", "2026-11-02T09:00Z", "2026-11-02T09:00:00.5Z", "2026-11-02T09:00:00+08:00",
    "2026-11-02T09:00:00", "2024-02-29T23:59:59Z", "1900-01-01T00:00:00Z", "1899-12-31T23:59:59Z",
    "2199-12-31T23:59:59Z", "2200-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "２０２６-11-02T09:00:00Z",
    "2026-1１-02T09:00:00Z", "garbage", "", None,
]
IMPOSSIBLE = ["2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-02T24:00:00Z", "2026-11-02T23:59:60Z",
              "2026-04-31T12:00:00Z"]


@pytest.mark.parametrize("impossible", [None, *IMPOSSIBLE])
@pytest.mark.parametrize("tz", [None, "Asia/Shanghai"])
def test_canonical_timestamps_read_at_once_as_the_iso_reader_reads_them(impossible, tz, monkeypatch):
    """``YYYY-MM-DDTHH:MM:SSZ`` is read by pyarrow's cast (validate._canonical_utc): the same instants and the
    same failed checks as pandas' ISO 8601 reader, value by value, with or without an impossible date beside."""
    from csqa.pipeline.ingest import validate

    rng = np.random.default_rng(3)
    instants = pd.to_datetime(rng.integers(0, 4_000_000_000, 2000), unit="s", utc=True)
    values = [*instants.strftime("%Y-%m-%dT%H:%M:%SZ"), *EDGE_TIMESTAMPS] + ([impossible] if impossible else [])
    s = pd.Series(values, dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    fast_values, fast_check = validate.parse_timestamps(s, tz)
    assert (validate._canonical_utc(s.dropna().str.strip()) is None) == (impossible is not None)
    monkeypatch.setattr(validate, "_canonical_utc", lambda text: None)
    slow_values, slow_check = validate.parse_timestamps(s, tz)
    pd.testing.assert_series_equal(fast_values, slow_values)
    pd.testing.assert_series_equal(fast_check, slow_check)
    assert fast_values.iloc[:2000].tolist() == instants.tolist()
    assert fast_check.notna().sum() >= 4


def test_the_schema_follows_each_configuration_s_value_sets_in_one_process(tmp_path, config):
    """The schema is built once per value sets and kept (``schema_for``): a second configuration in the same process
    checks its own channels, statuses and resolved statuses, and the first one its own again."""
    from csqa.pipeline.config import load_config
    from tests.conftest import write

    custom = load_config(write(tmp_path / "c.toml", '[channels.line]\nlabel = "LINE"\n[contract]\nstatuses = '
                               '["Open", "Done"]\nstatus_classes = { open = ["Open"], closed = ["Done"] }\n'))
    row = dict(GOOD["interactions"], channel="line", status="Done", resolved_at="")

    def failed(cfg):
        f = run("interactions", [row], cfg).failures
        return sorted(zip(f["column_name"], f["check_name"], strict=True))

    default = failed(config)
    assert [c for c, _ in default] == ["channel", "status"]
    assert "'line'" not in default[0][1] and "'open', 'pending', 'resolved', 'closed'" in default[1][1]
    assert failed(custom) == [("status,resolved_at", "resolved_status_has_resolution_time")]  # "Done": resolved
    assert failed(config) == default
