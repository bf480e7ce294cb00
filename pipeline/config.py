"""Configuration: one TOML file, strictly validated.

The defaults live in ``default_config.toml`` beside this module. A user file (``--config``,
``CSQA_CONFIG`` or ``./csqa.toml``) is laid over them: the tables ``channels``, ``schedules``
and ``sources`` replace the defaults whole when given, other sections merge key by key.
Unknown keys and wrong types are refused with a message naming the key.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
import re
import tomllib
import zoneinfo
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError

DEFAULT_CONFIG_PATH = Path(__file__).with_name("default_config.toml")
REPLACED_WHOLE = ("channels", "schedules", "sources")
ENTITIES = ("interactions", "messages", "csat_surveys", "faq_articles")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_RE = re.compile(r"^(\d{2}):(\d{2})$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _parse_days(spec: str | list[str]) -> tuple[int, ...]:
    """'mon-fri', 'sat,sun', ['mon','wed'] -> ISO weekday indexes 0..6 (Monday = 0)."""
    parts = spec if isinstance(spec, list) else [p.strip() for p in spec.split(",")]
    days: list[int] = []
    for part in parts:
        part = part.strip().lower()
        if "-" in part:
            a, b = (x.strip() for x in part.split("-", 1))
            if a not in DAY_NAMES or b not in DAY_NAMES:
                raise ValueError(f"unknown day in {part!r}; use {', '.join(DAY_NAMES)}")
            i, j = DAY_NAMES.index(a), DAY_NAMES.index(b)
            rng = range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)]
            days.extend(rng)
        else:
            if part not in DAY_NAMES:
                raise ValueError(f"unknown day {part!r}; use {', '.join(DAY_NAMES)}")
            days.append(DAY_NAMES.index(part))
    return tuple(sorted(set(days)))


def _parse_clock(value: str) -> int:
    """'09:30' -> minutes after midnight; '24:00' allowed as the end of a day."""
    m = _TIME_RE.match(value)
    if not m:
        raise ValueError(f"time {value!r} must be HH:MM")
    h, mi = int(m.group(1)), int(m.group(2))
    if mi > 59 or h > 24 or (h == 24 and mi != 0):
        raise ValueError(f"time {value!r} is out of range (00:00..24:00)")
    return h * 60 + mi


class Block(_Strict):
    """A weekly opening block. ``end`` <= ``start`` means the block crosses midnight."""

    days: str | list[str]
    start: str
    end: str

    @field_validator("days")
    @classmethod
    def _days(cls, v):
        _parse_days(v)
        return v

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, v):
        _parse_clock(v)
        return v

    @property
    def day_indexes(self) -> tuple[int, ...]:
        return _parse_days(self.days)

    @property
    def start_minute(self) -> int:
        return _parse_clock(self.start)

    @property
    def end_minute(self) -> int:
        return _parse_clock(self.end)


def _parse_holiday(v: str) -> tuple[dt.date, dt.date]:
    if ".." in v:
        a, b = v.split("..", 1)
    else:
        a = b = v
    try:
        d1, d2 = dt.date.fromisoformat(a.strip()), dt.date.fromisoformat(b.strip())
    except ValueError as e:
        raise ValueError(f"holiday {v!r} must be YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD") from e
    if d2 < d1:
        raise ValueError(f"holiday range {v!r} ends before it starts")
    return d1, d2


class Schedule(_Strict):
    timezone: str
    blocks: list[Block] = Field(min_length=1)
    holidays: list[str] = Field(default_factory=list)
    # make-up working days (调休): dates (or ranges) open although they fall on a closed weekday; they
    # open with the blocks of the weekday named by `workday_blocks` (default Monday's)
    workdays: list[str] = Field(default_factory=list)
    workday_blocks: str = "mon"

    @field_validator("workday_blocks")
    @classmethod
    def _wd_blocks(cls, v):
        if v.strip().lower() not in DAY_NAMES:
            raise ValueError(f"unknown day {v!r}; use one of {', '.join(DAY_NAMES)}")
        return v.strip().lower()

    @field_validator("workdays")
    @classmethod
    def _wd(cls, v):
        for h in v:
            _parse_holiday(h)
        return v

    @model_validator(mode="after")
    def _workdays_not_holidays(self):
        hol = self.holiday_ranges
        for a, b in self.workday_ranges:
            for c, d in hol:
                if a <= d and c <= b:
                    raise ValueError(f"workday {a}..{b} overlaps holiday {c}..{d}: a day cannot be both")
        idx = DAY_NAMES.index(self.workday_blocks)
        if self.workdays and not any(idx in blk.day_indexes for blk in self.blocks):
            raise ValueError(f"workday_blocks = {self.workday_blocks!r}: no block opens on that day, "
                             "so the make-up working days would stay closed")
        return self

    @property
    def workday_ranges(self) -> list[tuple[dt.date, dt.date]]:
        return [_parse_holiday(h) for h in self.workdays]

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v):
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {v!r} (use an IANA name like 'Asia/Shanghai')") from e
        return v

    @field_validator("holidays")
    @classmethod
    def _hol(cls, v):
        for h in v:
            _parse_holiday(h)
        return v

    @property
    def holiday_ranges(self) -> list[tuple[dt.date, dt.date]]:
        return [_parse_holiday(h) for h in self.holidays]

    @property
    def is_always_open(self) -> bool:
        return not self.holidays and any(
            b.start_minute == 0 and b.end_minute == 1440 and len(b.day_indexes) == 7
            for b in self.blocks
        )


PositiveNumber = Annotated[float, Field(gt=0)]


class SlaTarget(_Strict):
    first_response_minutes: PositiveNumber | None = None
    resolution_hours: PositiveNumber | None = None


class Channel(_Strict):
    label: str
    schedule: str = "always"
    first_response_minutes: PositiveNumber | None = None
    resolution_hours: PositiveNumber | None = None
    priority: dict[str, SlaTarget] = Field(default_factory=dict)

    def target(self, priority: str | None) -> SlaTarget:
        base = SlaTarget(
            first_response_minutes=self.first_response_minutes,
            resolution_hours=self.resolution_hours,
        )
        over = self.priority.get(priority or "")
        if over is None:
            return base
        return SlaTarget(
            first_response_minutes=over.first_response_minutes or base.first_response_minutes,
            resolution_hours=over.resolution_hours or base.resolution_hours,
        )


class Team(_Strict):
    """How the dashboard names a team code (the ``team`` column): ``label`` in English, ``label_zh`` in Chinese
    (``label`` when not given). A code without an entry shows as it is."""
    label: str = Field(min_length=1)
    label_zh: str | None = Field(None, min_length=1)


class Thread(_Strict):
    """How a one-row-per-message log is grouped into interactions.

    ``by = "conversation_id"``: messages sharing that column form one interaction; or
    ``reply_to = "in_response_to_tweet_id"``: each message joins the interaction of the message it
    answers, and one that answers nothing starts a new interaction (its id is the interaction id).
    The interaction gets ``channel``, ``priority``, ``language`` and ``status`` from ``interaction``
    (constants) and its ``customer_id`` from ``customer`` (a column of the starting message).
    """

    by: str | None = None
    reply_to: str | None = None
    customer: str
    interaction: dict[str, str] = Field(default_factory=dict)
    resolve_after_hours: PositiveNumber | None = None  # quiet this long after the last message: resolved

    @model_validator(mode="after")
    def _one(self):
        if (self.by is None) == (self.reply_to is None):
            raise ValueError("give exactly one of by = <conversation column> or reply_to = <parent id column>")
        settable = {"channel", "priority", "language", "team", "region", "topic", "agent_id"}
        wrong = sorted(set(self.interaction) - settable)
        if wrong:
            raise ValueError(f"thread.interaction: {', '.join(wrong)} cannot be set here "
                             f"(settable: {', '.join(sorted(settable))})")
        if "channel" not in self.interaction or "language" not in self.interaction:
            raise ValueError("thread.interaction needs channel and language (the interactions' constants)")
        return self


class RowSurvey(_Strict):
    """A satisfaction rating carried on the ticket row: each rated row also gives a CSAT survey (id = the
    interaction id), sent and answered at the row's ``sent_at`` contract column (default resolved_at).
    A rating that is not an integer 1..5 quarantines the row, naming the rating column."""

    score: str
    sent_at: Literal["created_at", "first_response_at", "resolved_at", "updated_at"] = "resolved_at"
    comment: str | None = None


class Derive(_Strict):
    """A contract column computed from the file's own columns.

    ``{ copy = "Created" }`` or ``{ copy = ["First Response Time", "Date of Purchase"] }``: the first
    non-blank of these columns; ``{ start = "Created at", plus = "First reply time in minutes",
    unit = "minutes" }``: a timestamp plus a duration (seconds, minutes, hours or days);
    ``{ equal = ["author_id", "requester_id"], then = "customer", otherwise = "agent" }``: a value
    chosen by comparing two columns.
    """

    copy_from: str | list[str] | None = Field(None, alias="copy")
    start: str | None = None
    plus: str | None = None
    unit: Literal["seconds", "minutes", "hours", "days"] = "minutes"
    equal: list[str] | None = Field(None, min_length=2, max_length=2)
    then: str | None = None
    otherwise: str | None = None

    @model_validator(mode="after")
    def _one_kind(self):
        kinds = [self.copy_from is not None, self.start is not None or self.plus is not None, self.equal is not None]
        if sum(kinds) != 1:
            raise ValueError("give exactly one of: copy = ...; start = ... with plus = ...; equal = [a, b]")
        if (self.start is None) != (self.plus is None):
            raise ValueError("start and plus go together (a timestamp plus a duration)")
        if self.equal is not None and (self.then is None or self.otherwise is None):
            raise ValueError("equal = [a, b] needs then = ... and otherwise = ...")
        return self

    @property
    def kind(self) -> str:
        return "copy" if self.copy_from is not None else "equal" if self.equal is not None else "plus"

    @property
    def inputs(self) -> list[str]:
        if self.copy_from is not None:
            return [self.copy_from] if isinstance(self.copy_from, str) else list(self.copy_from)
        if self.equal is not None:
            return list(self.equal)
        return [self.start, self.plus]  # type: ignore[list-item]


class Source(_Strict):
    match: str = "*"
    entity: Literal["interactions", "messages", "csat_surveys", "faq_articles"] | None = None
    timezone: str | None = None
    encoding: Literal["auto", "utf-8", "gb18030", "windows-1252"] = "auto"
    delimiter: Literal["auto", ",", ";", "\t", "|"] = "auto"
    # file column -> contract column
    columns: dict[str, str] = Field(default_factory=dict)
    # contract column -> { source value -> contract value }; values not listed pass through unchanged
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    # contract column -> the value every row takes (the file must not also map that column)
    constants: dict[str, str] = Field(default_factory=dict)
    # contract column -> the value a blank or absent cell takes
    defaults: dict[str, str] = Field(default_factory=dict)
    # contract column -> how it is computed from the file's columns
    derive: dict[str, Derive] = Field(default_factory=dict)
    # strptime format for timestamps that are not ISO 8601 ("%d/%m/%Y %H:%M"), or "unix" / "unix_ms"
    # for epoch numbers; ISO 8601 values are still accepted
    timestamp_format: str | None = None
    # a chat log with one row per message: group the messages into interactions (see docs/SOURCES.md)
    thread: Thread | None = None
    # a rating column on an interactions file: also load it as CSAT surveys (see RowSurvey)
    survey: RowSurvey | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v):
        if v is not None:
            Schedule._tz(v)
        return v

    @field_validator("timestamp_format")
    @classmethod
    def _fmt(cls, v):
        if v is None or v in ("unix", "unix_ms"):
            return v
        if "%" not in v:
            raise ValueError(f"timestamp_format {v!r} is neither a strptime format (with % codes) "
                             "nor 'unix' / 'unix_ms'")
        return v

    @model_validator(mode="after")
    def _known_columns(self):
        from .ingest.contract import MODELS, column_types

        entities = [self.entity] if self.entity else list(MODELS)
        known: set[str] = set()
        for ent in entities:
            known |= set(column_types(ent))
        for where, cols in (("columns", self.columns.values()), ("values", self.values), ("constants", self.constants),
                            ("defaults", self.defaults), ("derive", self.derive)):
            for col in cols:
                if col not in known:
                    raise ValueError(f"{where}: {col!r} is not a contract column"
                                     f"{' of ' + self.entity if self.entity else ''} "
                                     f"(known: {', '.join(sorted(known))})")
        both = set(self.constants) & (set(self.columns.values()) | set(self.derive))
        if both:
            raise ValueError(f"constants: {', '.join(sorted(both))} also mapped or derived; keep one")
        if self.thread is not None and self.entity not in (None, "messages"):
            raise ValueError("thread applies to a messages file (one row per message)")
        if self.survey is not None and self.entity != "interactions":
            raise ValueError('survey applies to an interactions file: set entity = "interactions"')
        return self


class Warehouse(_Strict):
    path: str = "data/csqa.duckdb"
    reporting_timezone: str = "UTC"
    snapshots: int = Field(3, ge=0, le=100)
    memory_limit: str = Field("768MB", pattern=r"^\d+(\.\d+)?\s?(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")
    validate_workers: int = Field(0, ge=0, le=64)  # 0: one per core, at most 4 (ingest/parallel.py)

    @field_validator("reporting_timezone")
    @classmethod
    def _tz(cls, v):
        return Schedule._tz(v)


STATUS_CLASSES = ("open", "pending", "resolved", "closed")


class Contract(_Strict):
    priorities: list[str] = Field(min_length=1)
    statuses: list[str] = Field(min_length=1)
    # what each status means: the SQL reads these classes, never a status name. Optional when every
    # status is itself one of open, pending, resolved, closed.
    status_classes: dict[Literal["open", "pending", "resolved", "closed"], list[str]] | None = None

    @model_validator(mode="after")
    def _classes(self):
        self.status_class_of()  # raises with the status that has no (or two) classes
        return self

    def status_class_of(self) -> dict[str, str]:
        """status -> open | pending | resolved | closed."""
        if self.status_classes is None:
            unknown = [s for s in self.statuses if s not in STATUS_CLASSES]
            if unknown:
                raise ValueError(
                    f"statuses {unknown} mean nothing to the metrics: add contract.status_classes, e.g. "
                    "status_classes = { open = [...], pending = [...], resolved = [...], closed = [...] }"
                )
            return {s: s for s in self.statuses}
        out: dict[str, str] = {}
        for cls_, members in self.status_classes.items():
            for m in members:
                if m in out:
                    raise ValueError(f"status_classes: {m!r} is in both {out[m]} and {cls_}")
                if m not in self.statuses:
                    raise ValueError(f"status_classes.{cls_}: {m!r} is not one of contract.statuses")
                out[m] = cls_
        missing = [s for s in self.statuses if s not in out]
        if missing:
            raise ValueError(f"status_classes: say which class {missing} belong to "
                             f"({', '.join(STATUS_CLASSES)})")
        return out

    def statuses_of(self, *classes: str) -> list[str]:
        return [s for s, c in self.status_class_of().items() if c in classes]


class Csat(_Strict):
    satisfied_threshold: int = Field(4, ge=1, le=5)
    min_sample: int = Field(30, ge=1)


class FirstResponse(_Strict):
    count_bot_replies: bool = False
    count_private_notes: bool = False


class Faq(_Strict):
    """FAQ matching and gap detection (docs/FAQ.md)."""

    match_threshold: float = Field(0.1, ge=0, le=1)
    match_threshold_by_language: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)
    window_days: int = Field(28, ge=7)
    min_cluster_size: int = Field(5, ge=2)
    deflection_weeks: int = Field(4, ge=1, le=26)
    low_csat_margin: float = Field(0.10, ge=0, le=1)
    max_tagged_per_topic: int = Field(300, ge=0)
    cluster_min_cohesion: float = Field(0.4, ge=0, le=1)
    cluster_max_article_similarity: float = Field(0.3, ge=0, le=1)
    cluster_merge_similarity: float = Field(0.7, ge=0, le=1)


class Goals(_Strict):
    """Team goals the dashboard colours headline numbers against."""

    sla_met_rate: float = Field(0.90, ge=0, le=1)
    csat_satisfied_share: float = Field(0.80, ge=0, le=1)


class Privacy(_Strict):
    pseudonymise_customer_id: bool = True
    key_env: str = "CSQA_PSEUDONYM_KEY"


class Config(_Strict):
    warehouse: Warehouse = Warehouse()
    contract: Contract
    csat: Csat = Csat()
    first_response: FirstResponse = FirstResponse()
    privacy: Privacy = Privacy()
    faq: Faq = Faq()
    goals: Goals = Goals()
    schedules: dict[str, Schedule] = Field(min_length=1)
    channels: dict[str, Channel] = Field(min_length=1)
    teams: dict[str, Team] = Field(default_factory=dict)
    sources: dict[str, Source] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _refs(self):
        for name, ch in self.channels.items():
            if ch.schedule not in self.schedules:
                raise ValueError(
                    f"channels.{name}.schedule = {ch.schedule!r} names no schedule "
                    f"(defined: {', '.join(sorted(self.schedules))})"
                )
            for prio in ch.priority:
                if prio not in self.contract.priorities:
                    raise ValueError(
                        f"channels.{name}.priority.{prio}: unknown priority "
                        f"(contract.priorities: {', '.join(self.contract.priorities)})"
                    )
        return self

    def source_for(self, file_name: str) -> Source | None:
        for src in self.sources.values():
            if fnmatch.fnmatch(file_name, src.match):
                return src
        return None


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        if key in REPLACED_WHOLE or not isinstance(value, dict) or not isinstance(out.get(key), dict):
            out[key] = value
        else:
            out[key] = {**out[key], **value}
    return out


def _format_validation_error(err: ValidationError, origin: str) -> str:
    lines = [f"{origin}:"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (not part of the configuration; check the spelling)"
        lines.append(f"  {loc or '(top level)'}: {msg}")
    return "\n".join(lines)


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as e:
        raise ConfigError(f"config file not found: {path}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from e


SOURCES_DIR = Path(__file__).with_name("sources")


def preset_names() -> list[str]:
    """The ready-made sources shipped in pipeline/sources/ (``csqa load --source NAME``)."""
    return sorted(p.stem for p in SOURCES_DIR.glob("*.toml"))


def _read_preset(name: str) -> dict:
    path = SOURCES_DIR / f"{name}.toml"
    if not re.fullmatch(r"[a-z0-9_]+", name) or not path.is_file():
        raise ConfigError(f"--source {name!r}: no such preset (available: {', '.join(preset_names())})")
    data = _read_toml(path)
    extra = set(data) - {"sources"}
    if extra or not data.get("sources"):
        raise ConfigError(f"{path}: a preset holds [sources.*] tables only (found {', '.join(sorted(data))})")
    return data["sources"]


def config_path(path: str | Path | None = None) -> str | None:
    """The configuration file a command reads: ``path``, else $CSQA_CONFIG, else ./csqa.toml when it exists; None
    when there is none (csqa's defaults alone)."""
    if path is not None:
        return str(path)
    env = os.environ.get("CSQA_CONFIG")
    if env:
        return env
    return "csqa.toml" if Path("csqa.toml").is_file() else None


def load_config(path: str | Path | None = None, source: str | None = None) -> Config:
    """Defaults, overlaid with ``path`` (or $CSQA_CONFIG, or ./csqa.toml when it exists: ``config_path``); with
    ``source``, the preset pipeline/sources/<source>.toml comes first among the sources."""
    data = _read_toml(DEFAULT_CONFIG_PATH)
    origin = str(DEFAULT_CONFIG_PATH)
    path = config_path(path)
    if path is not None:
        user = _read_toml(Path(path))
        data = _merge(data, user)
        user_contract = user.get("contract") if isinstance(user.get("contract"), dict) else {}
        if "statuses" in user_contract and "status_classes" not in user_contract:
            # the default classes name the default statuses: your statuses need your classes
            data["contract"] = {k: v for k, v in data["contract"].items() if k != "status_classes"}
        origin = str(path)
    if source is not None:
        data = {**data, "sources": {**_read_preset(source), **data.get("sources", {})}}
        origin += f" with --source {source}"
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_validation_error(e, origin)) from e
