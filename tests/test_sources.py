"""Real helpdesk exports load by configuration alone: presets (--source), inspect stubs, dry runs.

Fixtures in tests/fixtures/sources/ are written from each vendor's documented export format
(docs/SOURCES.md). Every load here is a real `csqa` process on a real DuckDB file."""

import csv
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, query, write

FIXTURES = ROOT / "tests" / "fixtures" / "sources"


def csqa(*args, check=True) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "csqa.pipeline.cli", *map(str, args)], capture_output=True, text=True)
    if check:
        assert r.returncode == 0, r.stderr + r.stdout
    return r


def load_preset(name: str, db: Path) -> dict:
    r = csqa("load", "--source", name, FIXTURES / name, "--db", db, "--json")
    return json.loads(r.stdout)


def facts(db: Path, cols: str) -> dict:
    rows = query(db, f"select interaction_id, {cols} from marts.fct_interactions order by interaction_id")
    return {r[0]: r[1:] for r in rows}


def test_zendesk_tickets_and_comments_load_with_no_code(db):
    s = load_preset("zendesk", db)
    assert (s["files_loaded"], s["rows_quarantined"], s["rows_read"], s["rows_loaded"]) == (2, 0, 9, 9)
    got = facts(db, "channel, status, priority, is_resolved, first_response_seconds, first_response_source")
    assert got == {
        # first reply from the public comments (the private note at 09:20 does not count): 45 min
        "1001": ("email", "closed", "high", True, 2700.0, "messages"),
        "1002": ("ticket", "resolved", "normal", True, 1200.0, "messages"),
        "1003": ("web_chat", "open", "normal", False, None, "interaction"),  # priority "-" -> normal
        # no comments: Created at + "First reply time in minutes" (30)
        "1004": ("email", "pending", "urgent", False, 1800.0, "interaction"),
    }
    roles = query(db, "select message_id, sender_role, is_public from raw.messages order by message_id")
    assert roles == [("5001", "customer", True), ("5002", "agent", False), ("5003", "agent", True),
                     ("5004", "customer", True), ("5005", "agent", True)]
    text = query(db, "select text from raw.messages where message_id = '5004'")[0][0]
    assert text == "Login fails, call me on [PHONE]"


def test_freshdesk_codes_map_and_a_custom_status_is_quarantined_with_its_code(db):
    s = load_preset("freshdesk", db)
    assert (s["rows_read"], s["rows_loaded"], s["rows_quarantined"]) == (4, 3, 1)
    got = facts(db, "channel, status, priority, first_response_seconds, resolution_seconds")
    assert got == {
        "20": ("email", "closed", "high", 3600.0, 4 * 3600.0),  # stats.resolved_at before stats.closed_at
        "21": ("web_chat", "open", "low", None, None),
        "22": ("phone", "resolved", "urgent", 300.0, 2 * 3600.0),
    }
    q = query(db, "select column_name, failing_value, row_number from audit.quarantine")
    assert q == [("status", "6", 4)]


def test_intercom_conversations_unix_times_and_states(db):
    s = load_preset("intercom", db)
    assert (s["rows_read"], s["rows_loaded"], s["rows_quarantined"]) == (3, 3, 0)
    got = facts(db, "channel, status, priority, created_at, first_response_seconds, resolution_seconds")
    utc = dt.UTC
    assert got == {
        "1911149811": ("web_chat", "closed", "normal", dt.datetime(2025, 11, 2, 9, tzinfo=utc), 240.0, 7200.0),
        "1911149812": ("email", "open", "high", dt.datetime(2025, 11, 3, 9, tzinfo=utc), None, None),
        "1911149813": ("web_chat", "pending", "normal", dt.datetime(2025, 11, 3, 10, tzinfo=utc), 600.0, None),
    }


def _independent_first_responses(path: Path) -> dict[str, float | None]:
    """From the raw tweet log, without csqa: thread by in_response_to_tweet_id to the first tweet of the
    chain; the clock starts at the thread's first inbound tweet and stops at the first outbound tweet
    from then on (a thread without an inbound tweet has none)."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_id = {r["tweet_id"]: r for r in rows}

    def root(r):
        while r["in_response_to_tweet_id"] in by_id:
            r = by_id[r["in_response_to_tweet_id"]]
        return r["tweet_id"]

    threads: dict[str, list] = {}
    for r in rows:
        when = dt.datetime.strptime(r["created_at"], "%a %b %d %H:%M:%S %z %Y")
        threads.setdefault(root(r), []).append((when, r["inbound"] == "True"))
    out = {}
    for tid, tweets in threads.items():
        inbound = [w for w, i in tweets if i]
        start = min(inbound) if inbound else min(w for w, _ in tweets)
        replies = [w for w, i in tweets if not i and w >= start]
        out[tid] = (min(replies) - start).total_seconds() if replies and inbound else None  # no customer: no clock
    return out


def test_tweet_log_threads_into_interactions_with_independent_first_response_times(db):
    s = load_preset("tweets", db)
    assert (s["rows_read"], s["rows_loaded"], s["rows_quarantined"]) == (14, 14, 0)
    assert any("threaded into 5 interactions" in n for n in s["files"][0]["notes"])
    expected = _independent_first_responses(FIXTURES / "tweets" / "twcs_sample.csv")
    got = {k: v[0] for k, v in facts(db, "first_response_seconds").items()}
    assert got == expected
    assert expected == {"5": 314.0, "10": 1800.0, "20": None, "30": 600.0, "40": 7200.0}  # the fixture's story
    # the customer is the inbound author (pseudonymised), e-mails in tweets are redacted
    customers = query(db, "select customer_id from marts.fct_interactions")
    assert len(customers) == 5 and all(c.startswith("c_") for (c,) in customers)
    assert "[EMAIL]" in query(db, "select text from raw.messages where message_id = '10'")[0][0]
    # a thread quiet for a day before the log's last tweet is resolved; the last one is still open
    assert facts(db, "status")["40"] == ("open",) and facts(db, "status")["5"] == ("resolved",)


def test_chat_log_threads_by_conversation_id(db):
    s = load_preset("chat_log", db)
    assert (s["rows_read"], s["rows_loaded"], s["rows_quarantined"]) == (6, 6, 0)
    # the bot's message at 09:00:05 does not stop the clock (first_response.count_bot_replies = false)
    assert facts(db, "first_response_seconds, channel") == {"c1": (120.0, "web_chat"), "c2": (600.0, "web_chat")}


def test_a_thread_without_a_customer_message_starts_no_first_response_clock(tmp_path, db):
    """A company reply to a tweet that is not in the log opens a thread of agent tweets only: it used to count as a
    0-second first response that met its target (halving the channel's mean, SLA 0 % -> 50 %). Now it has none
    and its first-response SLA is not applicable; the other thread keeps its 30 minutes, breached."""
    header = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
    log = write(tmp_path / "twcs_part.csv", header + """\
100,AppleSupport,False,Tue Oct 31 22:10:47 +0000 2017,@115712 We'd like to help. DM us.,,99
101,115713,True,Tue Oct 31 21:00:00 +0000 2017,@AppleSupport my phone died,102,
102,AppleSupport,False,Tue Oct 31 21:30:00 +0000 2017,@115713 Sorry to hear that,,101
""")
    csqa("load", "--source", "tweets", log, "--db", db)
    assert facts(db, "first_response_seconds, first_response_sla_status") == {
        "100": (None, "not_applicable"), "101": (1800.0, "breached")}
    assert query(db, "select count_first_responses, sum_first_response_seconds from marts.channel_response_times"
                 ) == [(1, 1800.0)]
    # nobody in the log is its customer: not the company (its author), which made every such thread one
    # customer's repeat contact
    customers = facts(db, "customer_id")
    assert customers["100"] == ("unknown:100",) and customers["101"][0].startswith("c_")


def test_a_chat_whose_customer_message_is_quarantined_keeps_the_customer_out_of_the_quarantine(tmp_path, db):
    """chat_log: the customer's message is quarantined (a time without a zone), so the thread holds the operator's
    reply alone: no first response is made up from it, and the quarantined row keeps the customer's author id
    hashed, as customer_id is, not the e-mail address it was (nor any other personal data of the row)."""
    log = write(tmp_path / "chat.csv", "message_id,conversation_id,author_type,author_id,sent_at,text\r\n"
                "q1,z1,user,alice.smith@example.com,2026-11-02 09:00:00,hello call me on +44 7700 900123\r\n"
                "q2,z1,operator,op-1,2026-11-02T09:01:00Z,hi\r\n"
                "q3,z2,user,bob_jones77,2026-11-02T09:05:00Z,one,field,too many\r\n")
    r = csqa("load", "--source", "chat_log", log, "--db", db, "--json")
    assert json.loads(r.stdout)["rows_quarantined"] == 2
    (raw_row, value), (line, _) = query(db, "select raw_row, failing_value from audit.quarantine order by row_number")
    assert "alice" not in raw_row and "example.com" not in raw_row and "7700" not in raw_row
    assert json.loads(raw_row)["author_id"].startswith("c_") and value == "2026-11-02 09:00:00"
    # a record that does not split into the header's fields: its customer column hashed there too
    assert "bob_jones77" not in line and json.loads(line)["_fields"][3].startswith("c_")
    assert facts(db, "first_response_seconds, first_response_sla_status")["z1"] == (None, "not_applicable")


def test_a_fault_is_reported_once_and_a_derived_value_is_shown(tmp_path, db):
    """Zendesk tickets: 2006's `Solved at` is an Excel-style date (a parse failure); it was also reported as
    `resolved_status_has_resolution_time` (a resolved ticket "without" the time it shows). 2005's first reply,
    derived from `Created at` + minutes, falls after its solve time: the quarantine showed the derived value empty."""
    header = (FIXTURES / "zendesk" / "tickets_export.csv").read_text().splitlines()[0]
    assert header.startswith("Id,Requester,Requester id,")
    rows = ["2005,Ann,1,Agent Li,Accounts,Late,x,Solved,Normal,Email,Question,2026-11-02 08:00:00,"
            "2026-11-02 09:00:00,2026-11-02 09:00:00,0,1,65,60",
            "2006,Bob,2,Agent Li,Accounts,Excel date,x,Solved,Normal,Email,Question,2026-11-02 08:00:00,"
            "2026-11-02 09:00:00,02/11/2026 09:00,0,1,5,60",
            # created in 2062 (a typo): its own fault, not also the first reply derived from it (an operator review)
            "2007,Cy,3,Agent Li,Accounts,Typo,x,Open,Normal,Email,Question,2062-11-02 08:00:00,"
            "2026-11-02 09:00:00,,0,1,5,"]
    path = write(tmp_path / "tickets_export.csv", header + "\n" + "\n".join(rows) + "\n")
    r = csqa("load", "--source", "zendesk", path, "--db", db, "--json")
    assert json.loads(r.stdout)["rows_quarantined"] == 3
    got = query(db, "select json_extract_string(raw_row, '$.interaction_id'), column_name, check_name, failing_value "
                    "from audit.quarantine order by 1, 3")
    assert got == [
        ("2005", "Created at + First reply time in minutes,Solved at", "resolution_not_before_first_response",
         "Created at + First reply time in minutes=2026-11-02T09:05:00+00:00; Solved at=2026-11-02 09:00:00"),
        ("2006", "Solved at", "parse_timestamp_iso8601", "02/11/2026 09:00"),
        ("2007", "Created at", "not_in_the_future", "2062-11-02 08:00:00"),
    ], got


def test_unknown_preset_is_a_usage_error_listing_the_presets(tmp_path):
    r = csqa("load", "--source", "zendeks", tmp_path, check=False)
    assert r.returncode == 2
    assert "zendeks" in r.stderr and "zendesk" in r.stderr and "tweets" in r.stderr


KAGGLE = FIXTURES / "kaggle_tickets" / "customer_support_tickets.csv"


def test_kaggle_ticket_export_loads_from_the_inspect_stub(tmp_path, db):
    stub = tmp_path / "tickets.toml"
    r = csqa("inspect", KAGGLE, "--out", stub)
    text = stub.read_text(encoding="utf-8")
    assert '"Ticket Status" = "status"' in text and '"Pending Customer Response" = "pending"' in text
    assert "Ticket Status values seen: Closed (6), Pending Customer Response (3), Open (3)" in text
    assert "TODO: created_at is required" in text and 'timezone = "UTC"' in text
    assert '[sources.customer_support_tickets.survey]\nscore = "Customer Satisfaction Rating"' in text
    # the user's edits: the export has no creation time; take the purchase date
    text = text.replace("[sources.customer_support_tickets.derive]\n",
                        '[sources.customer_support_tickets.derive]\ncreated_at = { copy = "Date of Purchase" }\n')
    stub.write_text(text, encoding="utf-8")
    work = tmp_path / "in"
    work.mkdir()
    (work / KAGGLE.name).write_bytes(KAGGLE.read_bytes())
    r = csqa("load", work, "--config", stub, "--db", db, "--json")
    s = json.loads(r.stdout)
    assert (s["rows_read"], s["rows_loaded"], s["rows_quarantined"]) == (12, 10, 2)
    q = query(db, "select row_number, column_name, check_name, failing_value from audit.quarantine order by 1")
    assert [(n, c, k) for n, c, k, _ in q] == [
        (4, "First Response Time,Time to Resolution", "resolution_not_before_first_response"),
        (10, "First Response Time,Time to Resolution", "resolution_not_before_first_response"),
    ]
    assert q[0][3] == "First Response Time=2023-06-01 07:29:40; Time to Resolution=2023-06-01 01:57:40"
    got = facts(db, "status, is_resolved, priority, channel, topic, topic_label")
    assert got["3"] == ("closed", True, "low", "social_twitter", "technical_issue", "Technical issue")
    assert got["1"][:2] == ("pending", False) and got["6"][:2] == ("open", False)
    assert got["11"][2] == "normal" and got["7"][2] == "urgent"  # Medium -> normal, Critical -> urgent
    assert "@" not in "".join(r[0] for r in query(db, "select customer_id from raw.interactions"))
    # the ratings of the loaded closed tickets became surveys (3.0 -> 3); the file's accounting is its tickets
    assert query(db, "select survey_id, score, sent_at = responded_at from raw.csat_surveys order by 1") == [
        ("11", 4, True), ("12", 5, True), ("3", 3, True), ("5", 1, True)]
    assert facts(db, "csat_score, is_satisfied")["12"] == (5, True)


def test_the_inspect_stub_of_a_tweet_log_threads_it_unedited(tmp_path, db):
    stub = tmp_path / "tweets.toml"
    csqa("inspect", FIXTURES / "tweets" / "twcs_sample.csv", "--out", stub)
    text = stub.read_text(encoding="utf-8")
    assert 'timestamp_format = "%a %b %d %H:%M:%S %z %Y"' in text
    assert 'reply_to = "in_response_to_tweet_id"' in text and 'customer = "author_id"' in text
    csqa("load", FIXTURES / "tweets" / "twcs_sample.csv", "--config", stub, "--db", db)
    got = {k: v[0] for k, v in facts(db, "first_response_seconds").items()}
    assert got == _independent_first_responses(FIXTURES / "tweets" / "twcs_sample.csv")


def test_inspect_reads_nested_json_and_unix_times(tmp_path):
    r = csqa("inspect", FIXTURES / "intercom" / "conversations.jsonl")
    assert '"source.type" = "channel"' in r.stdout and 'timestamp_format = "unix"' in r.stdout
    assert 'priority = { "not_priority" = "normal", "priority" = "high" }' in r.stdout
    assert "TODO: channel value 'conversation' means?" in r.stdout
    r = csqa("inspect", tmp_path / "missing.csv", check=False)
    assert r.returncode == 3 and "no such file" in r.stderr


def test_dry_run_reports_by_check_and_leaves_the_warehouse_untouched(tmp_path, db):
    csqa("load", "--source", "zendesk", FIXTURES / "zendesk", "--db", db)
    snap = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in db.parent.iterdir() if p.is_file()}
    bad = write(tmp_path / "in" / "tickets.jsonl", (FIXTURES / "freshdesk" / "tickets.jsonl").read_text())
    r = csqa("load", "--source", "freshdesk", bad.parent, "--db", db, "--dry-run", "--json")
    report = json.loads(r.stdout)
    assert report["dry_run"] and (report["would_load"], report["rows_quarantined"]) == (3, 1)
    assert report["quarantine"] == [{"source_file": str(bad), "check": "isin(['open', 'pending', 'resolved', "
                                     "'closed'])", "columns": "status", "rows": 1, "examples": ["6"],
                                     "row_numbers": [4]}]
    r = csqa("load", "--source", "freshdesk", bad.parent, "--db", db, "--dry-run")
    assert "would be quarantined, by check" in r.stdout and "e.g. '6' (rows 4)" in r.stdout
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in db.parent.iterdir() if p.is_file()}
    assert after == snap  # same files, same bytes, same times: nothing written, no key file created
    # against a warehouse that already holds the rows: the files are skipped (same sha256); forced, the
    # tickets would be rewritten (equal updated_at wins with --force) and the comments are duplicates
    r = csqa("load", "--source", "zendesk", FIXTURES / "zendesk", "--db", db, "--dry-run", "--json")
    assert json.loads(r.stdout)["files_skipped"] == 2
    r = csqa("load", "--source", "zendesk", FIXTURES / "zendesk", "--db", db, "--dry-run", "--json", "--force")
    report = json.loads(r.stdout)
    assert (report["would_load"], report["rows_duplicate"]) == (4, 5)


def test_dry_run_without_a_warehouse_creates_nothing(tmp_path):
    db = tmp_path / "none" / "w.duckdb"
    r = csqa("load", "--source", "tweets", FIXTURES / "tweets", "--db", db, "--dry-run", "--json")
    assert json.loads(r.stdout)["would_load"] == 14
    assert not db.parent.exists()
@pytest.mark.parametrize("name", ["zendesk", "freshdesk", "intercom", "tweets", "chat_log"])
def test_every_preset_is_documented_with_its_mapping(name):
    doc = (ROOT / "docs" / "SOURCES.md").read_text(encoding="utf-8")
    assert f"--source {name}" in doc


def test_inspect_maps_a_chinese_gb18030_export(tmp_path, db):
    text = ("工单编号,渠道,创建时间,首次响应时间,解决时间,工单状态,优先级,客户ID,问题描述\n"
            "G1,微信,2026-11-02 09:00:00,2026-11-02 09:05:00,2026-11-02 10:00:00,已关闭,高,u1,提现一直没到账\n"
            "G2,在线客服,2026-11-02 11:00:00,,,待处理,普通,u2,怎么修改手机号\n"
            "G3,电话,2026-11-02 12:00:00,2026-11-02 12:01:00,,等待客户回复,紧急,u3,账户被冻结\n")
    src = write(tmp_path / "in" / "工单导出.csv", text, encoding="gb18030")
    stub = tmp_path / "zh.toml"
    csqa("inspect", src, "--out", stub)
    toml = stub.read_text(encoding="utf-8")
    for line in ('"工单编号" = "interaction_id"', '"创建时间" = "created_at"', '"工单状态" = "status"',
                 '"客户ID" = "customer_id"', '"问题描述" = "first_message"',
                 'status = { "已关闭" = "closed", "待处理" = "open", "等待客户回复" = "pending" }',
                 'channel = { "微信" = "social_wechat", "在线客服" = "web_chat", "电话" = "phone" }'):
        assert line in toml, line
    # the stub's TODOs: the zone of the offset-less times (Shanghai) and the language
    toml = toml.replace('timezone = "UTC"', 'timezone = "Asia/Shanghai"').replace('language = "en"',
                                                                                  'language = "zh-CN"')
    stub.write_text(toml, encoding="utf-8")
    s = json.loads(csqa("load", src, "--config", stub, "--db", db, "--json").stdout)
    assert (s["rows_loaded"], s["rows_quarantined"]) == (3, 0)
    got = facts(db, "channel, status, priority, language, created_at, first_response_seconds")
    assert got["G1"] == ("social_wechat", "closed", "high", "zh-CN", dt.datetime(2026, 11, 2, 1, tzinfo=dt.UTC), 300.0)
    assert got["G3"][1:3] == ("pending", "urgent")
