"""``csqa inspect FILE…``: sample an export, guess its entity and mapping, write a commented source stub.

The stub is a ``[sources.NAME]`` table (docs/SOURCES.md) the user edits and passes with ``--config``:
column names matched to the contract by name and by common synonyms, the values seen in the columns
that have a fixed vocabulary (status, priority, channel, sender role) with a guessed value map, the
timestamp format that reads every sampled value, and whether the values carry a time zone. What could
not be guessed is written as a commented ``TODO`` line, never silently left out.
"""

from __future__ import annotations

import codecs
import json
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from ..config import Config
from ..errors import InputFileError
from .contract import DEFAULTS, MODELS, column_types, required_columns
from .read import (
    NAME_HINTS,
    SNIFF_BYTES,
    _flatten,
    _jsonl_text,
    _normalise,
    _sniff_csv_header,
    detect_encoding,
    detect_format,
)

SAMPLE_ROWS = 2000
# contract column -> names exports use for it (normalised: lower case, spaces as underscores)
SYNONYMS: dict[str, list[str]] = {
    "interaction_id": ["interaction_id", "ticket_id", "ticket_number", "case_id", "conversation_id", "id"],
    "channel": ["channel", "ticket_channel", "via", "source.type", "source", "medium"],
    "created_at": ["created_at", "created", "creation_date", "date_created", "opened_at", "submitted_at",
                   "created_time", "ticket_created"],
    "first_response_at": ["first_response_at", "first_response_time", "first_response", "first_reply_at",
                          "first_responded_at", "stats.first_responded_at", "statistics.first_admin_reply_at"],
    "resolved_at": ["resolved_at", "time_to_resolution", "solved_at", "resolution_time", "resolved", "closed_at",
                    "stats.resolved_at", "statistics.last_close_at"],
    "status": ["status", "ticket_status", "state"],
    "priority": ["priority", "ticket_priority", "urgency", "severity"],
    "customer_id": ["customer_id", "requester_id", "customer_email", "user_id", "requester", "customer",
                    "email", "author_id", "source.author.id"],
    "agent_id": ["agent_id", "assignee", "assignee_id", "responder_id", "agent", "owner", "admin_assignee_id"],
    "team": ["team", "group", "group_id", "queue", "team_assignee_id"],
    "language": ["language", "locale", "lang"],
    "region": ["region", "country", "country_code"],
    "topic": ["topic", "ticket_type", "category", "type", "tags"],
    "subject": ["subject", "ticket_subject", "title", "source.subject"],
    "first_message": ["first_message", "ticket_description", "description", "description_text", "body",
                      "source.body"],
    "handled_by_bot": ["handled_by_bot", "bot", "is_bot"],
    "reopen_count": ["reopen_count", "reopens", "count_reopens"],
    "updated_at": ["updated_at", "updated", "last_updated", "modified_at"],
    "message_id": ["message_id", "comment_id", "tweet_id", "event_id", "id"],
    "sender_role": ["sender_role", "author_type", "role", "sender_type", "inbound", "sender"],
    "sent_at": ["sent_at", "created_at", "timestamp", "time", "date"],
    "is_public": ["is_public", "public"],
    "text": ["text", "body", "plain_body", "message", "content"],
    "survey_id": ["survey_id", "rating_id", "id"],
    "responded_at": ["responded_at", "answered_at", "rated_at"],
    "score": ["score", "rating", "csat", "customer_satisfaction_rating", "satisfaction"],
    "comment": ["comment", "feedback", "remarks"],
    "article_id": ["article_id", "id"],
    "title": ["title", "name"],
    "published_at": ["published_at", "published"],
}
# Chinese exports (GB18030 from Excel/WPS are read as such): the same columns by their usual Chinese names
for _col, _names in {
    'interaction_id': ['工单号', '工单编号', '工单id', '会话id'],
    'channel': ['渠道', '来源渠道', '来源'],
    'created_at': ['创建时间', '提交时间'],
    'first_response_at': ['首次响应时间', '首次回复时间'],
    'resolved_at': ['解决时间', '关闭时间'],
    'status': ['状态', '工单状态'],
    'priority': ['优先级'],
    'customer_id': ['客户id', '用户id', '客户编号', '客户'],
    'agent_id': ['客服', '处理人', '受理人'],
    'team': ['技能组', '客服组'],
    'topic': ['问题分类', '分类'],
    'subject': ['标题', '主题'],
    'first_message': ['问题描述', '描述'],
    'updated_at': ['更新时间'],
    'sent_at': ['发送时间'],
    'text': ['消息内容', '内容'],
    'score': ['满意度', '评分'],
}.items():
    SYNONYMS[_col] = SYNONYMS.get(_col, []) + _names
# guessed value maps: a source value (lower case) containing the key -> the contract value
VALUE_GUESSES: dict[str, list[tuple[str, str]]] = {
    "status": [("等待", "pending"), ("挂起", "pending"), ("已解决", "resolved"), ("已关闭", "closed"),
               ("关闭", "closed"), ("待处理", "open"), ("处理中", "open"), ("新建", "open"),
               ("pending", "pending"), ("hold", "pending"), ("waiting", "pending"), ("snooze", "pending"),
               ("resolved", "resolved"), ("solved", "resolved"), ("closed", "closed"), ("done", "closed"),
               ("open", "open"), ("new", "open")],
    "priority": [("紧急", "urgent"), ("高", "high"), ("中", "normal"), ("普通", "normal"), ("低", "low"),
                 ("not_priority", "normal"), ("low", "low"), ("normal", "normal"), ("medium", "normal"),
                 ("high", "high"), ("urgent", "urgent"), ("critical", "urgent"), ("priority", "high")],
    "channel": [("微信", "social_wechat"), ("微博", "social_weibo"), ("邮件", "email"), ("电话", "phone"),
                ("在线", "web_chat"), ("网页", "web_chat"), ("工单", "ticket"),
                ("chat", "web_chat"), ("mail", "email"), ("phone", "phone"), ("call", "phone"),
                ("twitter", "social_twitter"), ("social", "social_twitter"), ("wechat", "social_wechat"),
                ("weibo", "social_weibo"), ("app", "app_chat"), ("web", "ticket"), ("portal", "ticket"),
                ("form", "ticket")],
    "sender_role": [("true", "customer"), ("false", "agent"), ("customer", "customer"), ("user", "customer"),
                    ("agent", "agent"), ("admin", "agent"), ("bot", "bot"), ("system", "system")],
}
TIMESTAMP_FORMATS = [
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%a %b %d %H:%M:%S %z %Y", "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y",
]
OFFSET_RE = re.compile(r"(?:[Zz]|[+-]\d{2}:?\d{2})$")
ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?([Zz]|[+-]\d{2}:?\d{2})?$")


def sample(path: Path, rows: int = SAMPLE_ROWS) -> tuple[pd.DataFrame, dict]:
    """The first ``rows`` records as text, and how the file was read (format, encoding, delimiter)."""
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    fmt = detect_format(path, head)
    info: dict = {"format": fmt}
    if fmt == "parquet":
        pf = pq.ParquetFile(path)
        batch = next(pf.iter_batches(batch_size=rows), None)
        df = batch.to_pandas() if batch is not None else pd.DataFrame(columns=pf.schema_arrow.names)
        return df.astype("object").map(lambda v: _jsonl_text(v)).astype("str").where(df.notna(), None), info
    if not head.strip():
        raise InputFileError(f"{path.name}: the file is empty")
    enc = detect_encoding(path, head, "auto")
    info["encoding"] = enc
    if fmt == "csv":
        text = codecs.getincrementaldecoder(enc)(errors="replace").decode(head, final=False)
        delim, _ = _sniff_csv_header(path, text, None)
        info["delimiter"] = delim
        df = pd.read_csv(path, sep=delim, encoding=enc, dtype="str", nrows=rows, keep_default_na=False,
                         na_values=[""], skipinitialspace=False)
        df.columns = [str(c).lstrip("\ufeff") for c in df.columns]
        return df, info
    records = []
    with path.open("r", encoding=enc) as fh:
        for line in fh:
            if len(records) >= rows:
                break
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                records.append({k: _jsonl_text(v) for k, v in _flatten(obj).items()})
    return pd.DataFrame.from_records(records), info


def guess_entity(path: Path, header: list[str]) -> str:
    for pattern, entity in NAME_HINTS:
        if pattern.search(path.stem):
            return entity
    best, score = "interactions", -1
    for entity in MODELS:
        mapping = guess_mapping(header, entity)
        s = len(set(mapping.values()) & set(required_columns(entity)))
        if s > score:
            best, score = entity, s
    return best


def guess_mapping(header: list[str], entity: str) -> dict[str, str]:
    """File column -> contract column, by exact name, then synonyms (first listed wins), each used once."""
    cols = list(column_types(entity))
    norm = {h: _normalise(h) for h in header}
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for col in cols:  # exact names first
        for h in header:
            if norm[h] == col and h not in mapping:
                mapping[h] = col
                taken.add(col)
    for col in cols:
        if col in taken:
            continue
        for syn in SYNONYMS.get(col, []):
            hit = next((h for h in header if norm[h] == syn and h not in mapping), None)
            if hit is not None:
                mapping[hit] = col
                taken.add(col)
                break
    return mapping


def timestamp_format(values: pd.Series) -> tuple[str | None, bool, str]:
    """(strptime format or None for ISO 8601 / 'unix', whether values carry an offset, a note)."""
    vals = values.dropna().astype(str).str.strip()
    vals = vals[vals != ""]
    if vals.empty:
        return None, False, "no values in the sample"
    if vals.str.fullmatch(r"\d{9,10}(\.\d+)?").all():
        return "unix", True, "Unix seconds"
    if vals.str.fullmatch(r"\d{12,13}").all():
        return "unix_ms", True, "Unix milliseconds"
    if vals.map(lambda v: bool(ISO_RE.match(v))).all():
        offsets = vals.map(lambda v: (m.group() if (m := OFFSET_RE.search(v)) else None))
        if offsets.notna().all():
            seen = ", ".join(sorted(set(offsets.str.upper())))
            return None, True, f"ISO 8601 with offsets ({seen}): converted to UTC, no timezone needed"
        return None, False, "ISO 8601" + (" (some values with an offset, some without)" if offsets.notna().any()
                                          else " without an offset")
    for fmt in TIMESTAMP_FORMATS:
        parsed = pd.to_datetime(vals, format=fmt, errors="coerce", utc="%z" in fmt)
        if parsed.notna().all():
            return fmt, "%z" in fmt, f"every sampled value reads as {fmt}"
    return None, False, "TODO: no known format reads every value; set timestamp_format"


def _guess_value(col: str, value: str) -> str | None:
    low = value.lower()
    for key, target in VALUE_GUESSES.get(col, []):
        if key in low:
            return target
    return None


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def stub_for(path: Path, config: Config, rows: int = SAMPLE_ROWS) -> str:
    """The commented ``[sources.<name>]`` stub for one file."""
    df, info = sample(path, rows)
    header = [str(c) for c in df.columns if not _is_object(df[c])]  # nested objects: their dotted keys
    entity = guess_entity(path, header)
    mapping = guess_mapping(header, entity)
    types = column_types(entity)
    name = re.sub(r"[^a-z0-9_]+", "_", path.stem.lower()).strip("_") or "export"
    out = [f"# csqa inspect: {path.name}, {len(df):,} rows sampled ({info['format']}"
           + (f", {info['encoding']}" if info.get("encoding") else "")
           + (f", delimiter {info['delimiter']!r}" if info.get("delimiter") else "") + ")",
           "# Edit the TODO lines, then: csqa load --dry-run --config THIS_FILE " + path.name,
           f"[sources.{name}]",
           f"match = {_q(path.name)}",
           f"entity = {_q(entity)}                # guessed from the "
           + ("file name" if any(p.search(path.stem) for p, _ in NAME_HINTS) else "columns")]
    # timestamps
    fmts, naive = {}, False
    for h, col in mapping.items():
        if types[col] == "ts":
            fmt, aware, note = timestamp_format(df[h])
            fmts[h] = (fmt, note)
            naive |= not aware and note != "no values in the sample"
    chosen = Counter(f for f, _ in fmts.values() if f is not None)
    if chosen:
        fmt = chosen.most_common(1)[0][0]
        out.append(f"timestamp_format = {_q(fmt)}")
    for h, (_, note) in fmts.items():
        out.append(f"# {h}: {note}")
    if naive:
        out.append('timezone = "UTC"              # TODO: the timestamps carry no offset: the zone they were '
                   "written in (e.g. Asia/Shanghai)")
    # columns
    out.append(f"\n[sources.{name}.columns]")
    for h, col in mapping.items():
        out.append(f"{_q(h)} = {_q(col)}")
    unmapped = [h for h in header if h not in mapping]
    if unmapped:
        out.append(f"# not mapped (ignored): {', '.join(unmapped)}")
    # enum values seen
    maps: dict[str, dict[str, str | None]] = {}
    seen_lines = []
    for h, col in mapping.items():
        if col in VALUE_GUESSES or (df[h].nunique() <= 12 and types[col] == "str" and col not in (
                "interaction_id", "customer_id", "message_id", "survey_id", "article_id", "subject", "text",
                "first_message", "comment", "title", "body")):
            counts = df[h].dropna().astype(str).str.strip().value_counts()
            if len(counts) > 30:
                continue
            seen_lines.append(f"# {h} values seen: " + ", ".join(f"{v} ({n})" for v, n in counts.items()))
            if col in VALUE_GUESSES:
                allowed = _allowed(col, config)
                m = {v: (v if v in allowed else _guess_value(col, v)) for v in counts.index}
                if any(v != t for v, t in m.items()):
                    maps[col] = m
    out.append(f"\n[sources.{name}.values]")
    out.extend(seen_lines)
    for col, m in maps.items():
        known = {v: t for v, t in m.items() if t is not None}
        if known:
            out.append(f"{col} = {{ " + ", ".join(f"{_q(v)} = {_q(t)}" for v, t in known.items()) + " }")
        for v, t in m.items():
            if t is None:
                out.append(f"# TODO: {col} value {v!r} means? (allowed: {', '.join(_allowed(col, config))})")
    # what is still missing
    provided = set(mapping.values())
    missing = [c for c in required_columns(entity) if c not in provided]
    consts = [c for c in missing if c == "language"]
    out.append(f"\n[sources.{name}.constants]")
    for c in consts:
        out.append(f'{c} = "en"                 # TODO: no {c} column: every row takes this value')
    out.append(f"\n[sources.{name}.derive]")
    threadable = entity == "messages" and "interaction_id" in missing
    for c in missing:
        if c in consts or (c == "interaction_id" and threadable):
            continue
        hint = {"created_at": '{ copy = "<a column>" } or { start = "<a column>", plus = "<minutes>", '
                              'unit = "minutes" }'}.get(c, '{ copy = "<a column>" }')
        out.append(f"# TODO: {c} is required and no column was found: {c} = {hint}")
    rating = next((h for h in unmapped if _normalise(h) in ("customer_satisfaction_rating", "satisfaction_score",
                                                            "satisfaction_rating", "csat", "csat_score", "rating")),
                  None) if entity == "interactions" else None
    if rating is not None:
        out.append(f"\n# {rating!r} looks like a satisfaction rating: each rated row also loads as a CSAT survey")
        out.append(f"[sources.{name}.survey]")
        out.append(f"score = {_q(rating)}")
        out.append('sent_at = "resolved_at"        # when the survey was sent and answered: a time column of the row')
    if threadable:
        parent = next((h for h in unmapped if re.search(r"in_response_to|reply_to|parent", h, re.I)), None)
        conv = next((h for h in unmapped if re.search(r"conversation|thread|chat_id|session", h, re.I)), None)
        author = next((h for h in unmapped if re.search(r"author|user|customer|sender", h, re.I)), "<a column>")
        out.append("\n# TODO: no interaction id: a one-row-per-message log is grouped into interactions "
                   "(docs/SOURCES.md)")
        out.append(f"[sources.{name}.thread]")
        if parent is not None:
            out.append(f"reply_to = {_q(parent)}          # each message joins the thread of the one it answers")
        else:
            out.append(f"by = {_q(conv or '<conversation column>')}")
        out.append(f"customer = {_q(author)}         # whose messages are the customer's: TODO check")
        out.append('interaction = { channel = "web_chat", language = "en" }   # TODO: your channel')
        out.append("resolve_after_hours = 24")
    for c in DEFAULTS[entity]:
        if c not in provided:
            out.append(f"# {c}: not in the file, defaults to {DEFAULTS[entity][c]!r}")
    return "\n".join(out) + "\n"


def _is_object(values: pd.Series) -> bool:
    v = values.dropna().astype(str).str.lstrip()
    return bool(len(v)) and bool(v.str.startswith(("{", "[")).all())


def _allowed(col: str, config: Config) -> list[str]:
    if col == "status":
        return list(config.contract.statuses)
    if col == "priority":
        return list(config.contract.priorities)
    if col == "channel":
        return list(config.channels)
    return ["customer", "agent", "bot", "system"]


def stubs(paths: list[Path], config: Config, rows: int = SAMPLE_ROWS) -> str:
    return "\n".join(stub_for(p, config, rows) for p in paths)
