"""Source mapping in the TOML (value maps, constants, defaults, derived columns, timestamp formats),
status semantics read by the SQL, and the contract checks that name the user's own columns."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csqa.pipeline.config import load_config
from csqa.pipeline.errors import ConfigError
from csqa.pipeline.ingest.load import load
from tests.conftest import INTERACTION_HEADER, interaction_row, query, write

UTC = dt.UTC

EXPORT = """
[sources.desk]
match = "desk_*.csv"
entity = "interactions"
timezone = "Asia/Shanghai"
timestamp_format = "%d/%m/%Y %H:%M"
constants = { language = "en" }
defaults = { priority = "normal" }
[sources.desk.columns]
"Case" = "interaction_id"
"Medium" = "channel"
"Opened" = "created_at"
"State" = "status"
"Urgency" = "priority"
"Client" = "customer_id"
"Category" = "topic"
[sources.desk.values]
channel = { "Chat" = "web_chat", "Social media" = "social_twitter", "E-mail" = "email" }
status = { "Done" = "closed", "Waiting" = "pending", "New" = "open" }
[sources.desk.derive]
first_response_at = { start = "Opened", plus = "First reply (min)", unit = "minutes" }
resolved_at = { start = "Opened", plus = "Hours to solve", unit = "hours" }
"""


def _load(tmp_path, db, cfg_text: str, name: str, text: str):
    config = load_config(write(tmp_path / "csqa.toml", cfg_text))
    s = load([write(tmp_path / "in" / name, text)], db, config)
    return s.files[0]


def test_value_maps_constants_defaults_and_derived_times(tmp_path, db):
    text = ("Case,Medium,Opened,State,Urgency,Client,Category,First reply (min),Hours to solve\n"
            "A1,Chat,02/11/2026 17:00,Done,high,u1,Refund_not_showing_up,3,1.5\n"
            "A2,SOCIAL MEDIA,02/11/2026 18:00,waiting,,u2,KYC / Verification!,,\n"  # any case maps
            "A3,E-mail,2026-11-02T12:00:00Z,New,low,u3,,abc,\n")
    f = _load(tmp_path, db, EXPORT, "desk_export.csv", text)
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (3, 2, 1)
    rows = query(db, """select interaction_id, channel, status, priority, language, created_at, first_response_at,
                               resolved_at, topic, topic_label from raw.interactions order by 1""")
    assert rows == [
        # 17:00 Shanghai = 09:00 UTC; + 3 minutes; + 1.5 hours
        ("A1", "web_chat", "closed", "high", "en", dt.datetime(2026, 11, 2, 9, tzinfo=UTC),
         dt.datetime(2026, 11, 2, 9, 3, tzinfo=UTC), dt.datetime(2026, 11, 2, 10, 30, tzinfo=UTC),
         "refund_not_showing_up", "Refund_not_showing_up"),
        # blank priority -> default; a topic with case and punctuation is slugged, never quarantined
        ("A2", "social_twitter", "pending", "normal", "en", dt.datetime(2026, 11, 2, 10, tzinfo=UTC), None, None,
         "kyc_verification", "KYC / Verification!"),
    ]
    # ISO 8601 still reads beside the format; a duration that is not a number fails its own column
    q = query(db, "select row_number, column_name, check_name, failing_value from audit.quarantine")
    assert q == [(3, "First reply (min)", "parse_duration", "abc")]


@pytest.mark.parametrize(("text", "message"), [
    ('[sources.x]\nmatch="*"\nentity="interactions"\nvalues = { chanel = { "a" = "b" } }\n',
     r"'chanel' is not a contract column"),
    ('[sources.x]\nmatch="*"\nderive = { created_at = { copy = "A", start = "B", plus = "C" } }\n',
     "exactly one of"),
    ('[sources.x]\nmatch="*"\ncolumns = { "Lang" = "language" }\nconstants = { language = "en" }\n',
     "also mapped"),
    ('[sources.x]\nmatch="*"\ntimestamp_format = "dd/mm/yyyy"\n', "strptime"),
    ('[sources.x]\nmatch="*"\nderive = { resolved_at = { start = "B", plus = "C", unit = "weeks" } }\n', "unit"),
    ('[contract]\nstatuses = ["Open", "Closed"]\n', r"\['Open', 'Closed'\] mean nothing to the metrics"),
    ('[sources.x]\nentity="messages"\nthread = { by = "c", customer = "a", interaction = { chanel = "email" } }\n',
     "chanel cannot be set here"),
    ('[sources.x]\nentity="interactions"\nthread = { by = "c", customer = "a", interaction = { channel = "email", '
     'language = "en" } }\n', "thread applies to a messages file"),
    ('[sources.x]\nentity="messages"\nsurvey = { score = "CSAT" }\n', "survey applies to an interactions file"),
    ('[contract]\nstatuses = ["Open", "Closed"]\nstatus_classes = { open = ["Open"] }\n',
     r"say which class \['Closed'\]"),
    ('[contract]\nstatuses = ["Open"]\nstatus_classes = { open = ["Open"], closed = ["Open"] }\n', "in both"),
])
def test_mapping_config_is_strictly_validated(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path / "c.toml", text))


STATUSES = """
[contract]
statuses = ["Open", "Pending Customer Response", "Closed"]
status_classes = { open = ["Open"], pending = ["Pending Customer Response"], closed = ["Closed"] }
"""


def test_the_sql_reads_status_classes_never_status_names(tmp_path, db):
    rows = [
        interaction_row("C", status="Closed", created="2026-11-02T09:00:00Z", first="2026-11-02T09:01:00Z",
                        resolved="2026-11-02T10:00:00Z"),
        interaction_row("P", status="Pending Customer Response", created="2026-11-02T09:00:00Z",
                        first="2026-11-02T09:01:00Z", resolved="", updated="2026-11-02T09:30:00Z"),
        interaction_row("N", status="Closed", resolved=""),  # a closed-class status needs a resolution time
    ]
    f = _load(tmp_path, db, STATUSES, "interactions.csv", INTERACTION_HEADER + "\n" + "\n".join(rows) + "\n")
    assert (f.rows_loaded, f.rows_quarantined) == (2, 1)
    assert query(db, "select check_name from audit.quarantine") == [("resolved_status_has_resolution_time",)]
    got = query(db, """select interaction_id, is_resolved, resolution_seconds, resolution_sla_status
                       from marts.fct_interactions order by 1""")
    assert got == [("C", True, 3600.0, "met"), ("P", False, None, "open")]
    assert query(db, "select status, status_class from staging.stg_interactions order by 1") == [
        ("Closed", "closed"), ("Pending Customer Response", "pending")]
    backlog = query(db, "select count_open_at_end from marts.backlog_daily where day = '2026-11-02'")
    assert backlog == [(1,)]


MAPPED = """
[sources.helpdesk]
match = "helpdesk_*.csv"
entity = "interactions"
constants = { language = "en", channel = "email" }
[sources.helpdesk.columns]
"Ticket ID" = "interaction_id"
"Created" = "created_at"
"First Response Time" = "first_response_at"
"Time to Resolution" = "resolved_at"
"Status" = "status"
"Priority" = "priority"
"Customer Email" = "customer_id"
"""


def test_cross_field_checks_name_the_users_own_columns(tmp_path, db):
    text = ("Ticket ID,Created,First Response Time,Time to Resolution,Status,Priority,Customer Email\n"
            "T1,2026-11-02T09:00:00Z,2026-11-02T10:00:00Z,2026-11-02T09:30:00Z,closed,high,a@example.com\n"
            "T2,2026-11-02T09:00:00Z,2026-11-02T08:00:00Z,,open,high,b@example.com\n"
            "T3,2026-11-02T09:00:00Z,2026-11-02T09:10:00Z,2026-11-02T09:30:00Z,closed,high,c@example.com\n")
    f = _load(tmp_path, db, MAPPED, "helpdesk_1.csv", text)
    assert (f.rows_loaded, f.rows_quarantined) == (1, 2)
    q = query(db, "select row_number, column_name, check_name, failing_value from audit.quarantine order by 1")
    assert q == [
        (1, "First Response Time,Time to Resolution", "resolution_not_before_first_response",
         "First Response Time=2026-11-02T10:00:00Z; Time to Resolution=2026-11-02T09:30:00Z"),
        (2, "Created,First Response Time", "first_response_not_before_creation",
         "Created=2026-11-02T09:00:00Z; First Response Time=2026-11-02T08:00:00Z"),
    ]


MSG_HEAD = "message_id,interaction_id,sender_role,sent_at,is_public,text\n"


def test_a_message_id_under_another_interaction_is_a_key_conflict_not_a_duplicate(tmp_path, db, config):
    s = load([write(tmp_path / "a" / "messages.csv", MSG_HEAD + "M1,I1,customer,2026-11-02T09:00:00Z,true,hi\n")],
             db, config)
    assert s.files[0].rows_loaded == 1
    text = (MSG_HEAD + "M1,I2,customer,2026-11-02T09:00:00Z,true,hi\n"  # stored under I1
            "M1,I1,customer,2026-11-02T09:00:00Z,true,hi\n"  # a true duplicate
            "M2,I3,agent,2026-11-02T09:05:00Z,true,a\n"
            "M2,I4,agent,2026-11-02T09:05:00Z,true,a\n")  # conflicts with the row before it in this batch
    s = load([write(tmp_path / "b" / "messages.csv", text)], db, config)
    f = s.files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_duplicate) == (4, 1, 2, 1)
    q = query(db, "select row_number, column_name, check_name, failing_value from audit.quarantine order by 1")
    assert q == [(1, "message_id", "message_key_conflict", "M1 (already under interaction I1, here under I2)"),
                 (4, "message_id", "message_key_conflict", "M2 (already under interaction I3, here under I4)")]
    assert query(db, "select message_id, interaction_id from raw.messages order by 1") == [("M1", "I1"), ("M2", "I3")]
    assert query(db, "select count(*) from audit.load_batches "
                     "where rows_read <> rows_loaded + rows_quarantined + rows_duplicate")[0][0] == 0


def test_a_survey_sent_before_its_interaction_was_created_is_quarantined(tmp_path, db, config):
    write(tmp_path / "in" / "interactions.csv",
          INTERACTION_HEADER + "\n" + interaction_row("I1", created="2026-11-02T09:00:00Z") + "\n")
    write(tmp_path / "in" / "csat_surveys.csv", "survey_id,interaction_id,sent_at,responded_at,score,comment\n"
          "S1,I1,2026-11-02T08:00:00Z,2026-11-02T08:10:00Z,5,\n"
          "S2,I1,2026-11-02T10:00:00Z,2026-11-02T10:10:00Z,4,\n")
    s = load([tmp_path / "in"], db, config)
    f = next(x for x in s.files if x.entity == "csat_surveys")
    assert (f.rows_loaded, f.rows_quarantined) == (1, 1)
    q = query(db, "select column_name, check_name from audit.quarantine")
    assert q == [("sent_at,created_at (interaction)", "survey_not_before_creation")]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=80)), min_size=1, max_size=20))
def test_vectorised_topic_slugs_equal_the_slug_rule(values):
    import numpy as np
    import pandas as pd

    from csqa.pipeline.ingest.validate import _slug_topics, slug

    s = pd.Series(values, dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    s = s.where(s.fillna("x").str.strip() != "", None)  # blank cells are null before this step
    out, _ = _slug_topics("interactions", pd.DataFrame({"topic": s}), None)
    for v, got in zip(s.tolist(), out.topic.tolist(), strict=True):
        if isinstance(v, str):
            assert got == (slug(v) or v)
            assert out.topic_label.tolist()[s.tolist().index(v)] == v
        else:
            assert pd.isna(got)


_INTEGER_TEXT = st.one_of(st.none(), st.from_regex(r"[0-9]{1,18}", fullmatch=True),
                          st.from_regex(r"[ \t]?[0-9]{1,16}[ \t]?", fullmatch=True))


@settings(max_examples=300, deadline=None)
@given(st.lists(_INTEGER_TEXT, max_size=20), st.one_of(st.none(), st.sampled_from(["+5", "-3", "1.0", "1e3", "x",
                                                                                   "١٢", "１２", "9" * 16])))
def test_integers_read_at_once_as_to_numeric_reads_them(values, odd):
    """parse_integers reads a column of plain digits (and nulls) with one pyarrow cast: the same values, dtype and
    failed checks as pandas' to_numeric path gives them (here forced by a pattern nothing matches)."""
    from unittest import mock

    import numpy as np
    import pandas as pd

    from csqa.pipeline.ingest import validate

    s = pd.Series(values + ([odd] if odd else []), dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    fast = validate.parse_integers(s)
    with mock.patch.object(validate, "_DIGITS", "a^"):
        slow = validate.parse_integers(s)
    assert fast[0].dtype == slow[0].dtype == "Int64"
    assert fast[0].equals(slow[0]) and fast[1].equals(slow[1])


def test_changing_what_a_status_means_rebuilds_the_marts(tmp_path, db):
    held = """
[contract]
statuses = ["Open", "On hold", "Closed"]
status_classes = { open = ["Open"], pending = ["On hold"], closed = ["Closed"] }
"""
    row = interaction_row("H", status="On hold", created="2026-11-02T09:00:00Z", first="2026-11-02T09:01:00Z",
                          resolved="2026-11-02T10:00:00Z")
    f = _load(tmp_path, db, held, "interactions.csv", INTERACTION_HEADER + "\n" + row + "\n")
    assert f.rows_loaded == 1
    assert query(db, "select is_resolved from marts.fct_interactions") == [(False,)]
    from csqa.pipeline.model import marts
    from csqa.pipeline.model.warehouse import open_warehouse

    done = held.replace('pending = ["On hold"], closed = ["Closed"]', 'closed = ["Closed", "On hold"]')
    con = open_warehouse(db)
    info = marts.refresh(con, load_config(write(tmp_path / "c2.toml", done)), batch_id=1)
    con.close()
    assert info["full"]
    assert query(db, "select is_resolved, resolution_seconds from marts.fct_interactions") == [(True, 3600.0)]


def test_a_rating_column_loads_as_surveys_and_a_bad_rating_names_its_column(tmp_path, db):
    cfg = MAPPED.replace('[sources.helpdesk.columns]', 'survey = { score = "CSAT" }\n[sources.helpdesk.columns]')
    text = ("Ticket ID,Created,First Response Time,Time to Resolution,Status,Priority,Customer Email,CSAT\n"
            "T1,2026-11-02T09:00:00Z,2026-11-02T09:10:00Z,2026-11-02T09:30:00Z,closed,high,a@example.com,4.0\n"
            "T2,2026-11-02T09:00:00Z,2026-11-02T09:10:00Z,2026-11-02T09:30:00Z,closed,high,b@example.com,7\n"
            "T3,2026-11-02T09:00:00Z,2026-11-02T09:10:00Z,2026-11-02T09:30:00Z,closed,high,c@example.com,good\n"
            "T4,2026-11-02T09:00:00Z,2026-11-02T09:10:00Z,,open,high,d@example.com,\n")
    f = _load(tmp_path, db, cfg, "helpdesk_1.csv", text)
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (4, 2, 2)
    assert query(db, "select row_number, column_name, check_name, failing_value from audit.quarantine order by 1") == [
        (2, "CSAT", "score_in_range(1, 5)", "7"), (3, "CSAT", "parse_integer", "good")]
    assert query(db, "select survey_id, interaction_id, score from raw.csat_surveys") == [("T1", "T1", 4)]
    assert query(db, "select interaction_id, csat_score from marts.fct_interactions order by 1") == [
        ("T1", 4), ("T4", None)]
