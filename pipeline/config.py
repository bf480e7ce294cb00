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


class Source(_Strict):
    match: str
    entity: Literal["interactions", "messages", "csat_surveys", "faq_articles"] | None = None
    timezone: str | None = None
    encoding: Literal["auto", "utf-8", "gb18030"] = "auto"
    delimiter: Literal["auto", ",", ";", "\t", "|"] = "auto"
    columns: dict[str, str] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v):
        if v is not None:
            Schedule._tz(v)
        return v


class Warehouse(_Strict):
    path: str = "data/csqa.duckdb"
    reporting_timezone: str = "UTC"
    snapshots: int = Field(3, ge=0, le=100)
    memory_limit: str = Field("768MB", pattern=r"^\d+(\.\d+)?\s?(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")

    @field_validator("reporting_timezone")
    @classmethod
    def _tz(cls, v):
        return Schedule._tz(v)


class Contract(_Strict):
    priorities: list[str] = Field(min_length=1)
    statuses: list[str] = Field(min_length=1)


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


def load_config(path: str | Path | None = None) -> Config:
    """Defaults, overlaid with ``path`` (or $CSQA_CONFIG, or ./csqa.toml when it exists)."""
    data = _read_toml(DEFAULT_CONFIG_PATH)
    origin = str(DEFAULT_CONFIG_PATH)
    if path is None:
        env = os.environ.get("CSQA_CONFIG")
        if env:
            path = env
        elif Path("csqa.toml").is_file():
            path = "csqa.toml"
    if path is not None:
        user = _read_toml(Path(path))
        data = _merge(data, user)
        origin = str(path)
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_validation_error(e, origin)) from e
