"""The data contract: one pandera ``DataFrameModel`` per source entity.

These models are the contract and its documentation (docs/DATA_CONTRACT.md is written from
them). They validate *typed* frames: :mod:`csqa.pipeline.ingest.read` has already turned text into
timestamps (UTC), booleans and integers, recording anything it could not parse.
Values that depend on configuration (channels, priorities, statuses) are added by
:func:`schema_for`.
"""

from __future__ import annotations

import copy
import functools
import sys
from contextlib import contextmanager

import pandas as pd


@contextmanager
def _without(*modules: str):
    """Imports of ``modules`` fail at once inside the block (each stays importable afterwards); a module
    already imported is left alone. pandera tries two optional imports csqa never uses, and pays for them in
    every process: ``pyspark.pandas`` (0.4 s with csqa[spark] installed: pandas-on-Spark's type hints; the Spark
    engine imports pyspark itself when it runs) and ``hypothesis`` (0.6 s with it installed: pandera's data
    synthesis, ``example()``)."""
    blocked = [m for m in modules if m not in sys.modules]
    for m in blocked:
        sys.modules[m] = None  # type: ignore[assignment]  # `import m` -> ModuleNotFoundError
    try:
        yield
    finally:
        for m in blocked:
            del sys.modules[m]


with _without("pyspark"):
    import pandera.pandas as pa
    from pandera.typing import Series

from ..config import Config  # noqa: E402

UTC_TS = {"dtype_kwargs": {"unit": "us", "tz": "UTC"}}
ID_PATTERN = r"^[^\s].{0,127}$"  # ids: non-empty, no leading blank, at most 128 characters
# The ids that certainly match ID_PATTERN: printable ASCII, no leading blank, at most 128 characters. pandas runs
# ID_PATTERN (its `\s`) through Python's re value by value; this one runs in pyarrow's RE2, and only the ids it
# does not cover (rare: other scripts, control characters, longer ones) go through ID_PATTERN itself
ID_PATTERN_ASCII = r"^[!-~][ -~]{0,127}$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"  # BCP-47 subset: zh-CN, en, pt-BR, yue-Hant-HK
REGION_PATTERN = r"^[A-Z]{2}$"  # ISO 3166-1 alpha-2
SENDER_ROLES = ["customer", "agent", "bot", "system"]
ARTICLE_STATUSES = ["draft", "published", "archived"]

TS = pd.DatetimeTZDtype


class Interaction(pa.DataFrameModel):
    """One row per conversation / contact, on any channel.

    Cross-column checks pass when an operand is null: the operand's own ``not_nullable``
    check reports that row, so one fault is reported once.
    """

    interaction_id: Series[str] = pa.Field(str_matches=ID_PATTERN)
    channel: Series[str]  # isin(config channels), added by schema_for
    created_at: Series[TS] = pa.Field(**UTC_TS)
    first_response_at: Series[TS] = pa.Field(nullable=True, **UTC_TS)
    resolved_at: Series[TS] = pa.Field(nullable=True, **UTC_TS)
    status: Series[str]  # isin(contract.statuses)
    priority: Series[str]  # isin(contract.priorities)
    customer_id: Series[str] = pa.Field(str_matches=ID_PATTERN)
    agent_id: Series[str] = pa.Field(nullable=True)
    team: Series[str] = pa.Field(nullable=True)
    language: Series[str] = pa.Field(str_matches=LANGUAGE_PATTERN)
    region: Series[str] = pa.Field(nullable=True, str_matches=REGION_PATTERN)
    topic: Series[str] = pa.Field(nullable=True, str_matches=r"^[a-z0-9_]{1,64}$")
    subject: Series[str] = pa.Field(nullable=True)
    first_message: Series[str] = pa.Field(nullable=True)
    handled_by_bot: Series[pd.BooleanDtype]
    reopen_count: Series[pd.Int64Dtype] = pa.Field(ge=0, le=1000)
    updated_at: Series[TS] = pa.Field(**UTC_TS)

    @pa.dataframe_check
    def first_response_not_before_creation(cls, df: pd.DataFrame) -> Series[bool]:
        ok = df.first_response_at.isna() | df.created_at.isna() | (df.first_response_at >= df.created_at)
        return ok.astype(bool)

    @pa.dataframe_check
    def resolution_not_before_creation(cls, df: pd.DataFrame) -> Series[bool]:
        ok = df.resolved_at.isna() | df.created_at.isna() | (df.resolved_at >= df.created_at)
        return ok.astype(bool)

    @pa.dataframe_check
    def resolution_not_before_first_response(cls, df: pd.DataFrame) -> Series[bool]:
        ok = df.resolved_at.isna() | df.first_response_at.isna() | (df.resolved_at >= df.first_response_at)
        return ok.astype(bool)

    # resolved_status_has_resolution_time reads contract.status_classes: added by schema_for

    @pa.dataframe_check
    def updated_not_before_creation(cls, df: pd.DataFrame) -> Series[bool]:
        return (df.updated_at.isna() | df.created_at.isna() | (df.updated_at >= df.created_at)).astype(bool)

    class Config:
        strict = "filter"
        name = "interactions"


class Message(pa.DataFrameModel):
    """One row per message event in a conversation (optional: only when transcripts exist)."""

    message_id: Series[str] = pa.Field(str_matches=ID_PATTERN)
    interaction_id: Series[str] = pa.Field(str_matches=ID_PATTERN)
    sender_role: Series[str] = pa.Field(isin=SENDER_ROLES)
    sent_at: Series[TS] = pa.Field(**UTC_TS)
    is_public: Series[pd.BooleanDtype]
    text: Series[str] = pa.Field(nullable=True)

    class Config:
        strict = "filter"
        name = "messages"


class CsatSurvey(pa.DataFrameModel):
    """One row per satisfaction survey sent about an interaction."""

    survey_id: Series[str] = pa.Field(str_matches=ID_PATTERN)
    interaction_id: Series[str] = pa.Field(str_matches=ID_PATTERN)
    sent_at: Series[TS] = pa.Field(**UTC_TS)
    responded_at: Series[TS] = pa.Field(nullable=True, **UTC_TS)
    score: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=1, le=5)
    comment: Series[str] = pa.Field(nullable=True)

    @pa.dataframe_check
    def response_not_before_sending(cls, df: pd.DataFrame) -> Series[bool]:
        return (df.responded_at.isna() | df.sent_at.isna() | (df.responded_at >= df.sent_at)).astype(bool)

    @pa.dataframe_check
    def score_needs_response_time(cls, df: pd.DataFrame) -> Series[bool]:
        return (df.score.isna() | df.responded_at.notna()).astype(bool)

    class Config:
        strict = "filter"
        name = "csat_surveys"


class FaqArticle(pa.DataFrameModel):
    """One row per help-centre article in one language."""

    article_id: Series[str] = pa.Field(str_matches=ID_PATTERN)
    topic: Series[str] = pa.Field(str_matches=r"^[a-z0-9_]{1,64}$")
    language: Series[str] = pa.Field(str_matches=LANGUAGE_PATTERN)
    title: Series[str] = pa.Field(str_length={"min_value": 1, "max_value": 500})
    body: Series[str] = pa.Field(nullable=True)
    status: Series[str] = pa.Field(isin=ARTICLE_STATUSES)
    published_at: Series[TS] = pa.Field(nullable=True, **UTC_TS)
    updated_at: Series[TS] = pa.Field(**UTC_TS)

    @pa.dataframe_check
    def published_article_has_publication_time(cls, df: pd.DataFrame) -> Series[bool]:
        return ((df.status != "published") | df.published_at.notna()).astype(bool)

    class Config:
        strict = "filter"
        name = "faq_articles"


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "interactions": Interaction,
    "messages": Message,
    "csat_surveys": CsatSurvey,
    "faq_articles": FaqArticle,
}

# The natural key each entity upserts on, and the column whose newest value wins.
KEYS = {
    "interactions": ("interaction_id", "updated_at"),
    "messages": ("message_id", None),  # message events are immutable: the first one stored stays
    "csat_surveys": ("survey_id", "updated_at"),  # updated_at := coalesce(responded_at, sent_at)
    "faq_articles": ("article_id", "updated_at"),
}

# Columns of free text written by customers: redacted before anything is stored.
FREE_TEXT = {
    "interactions": ("subject", "first_message"),
    "messages": ("text",),
    "csat_surveys": ("comment",),
    "faq_articles": (),
}

# Columns each cross-column check reads: a failure is reported against these.
CROSS_CHECK_COLUMNS = {
    "first_response_not_before_creation": ("created_at", "first_response_at"),
    "resolution_not_before_creation": ("created_at", "resolved_at"),
    "resolution_not_before_first_response": ("first_response_at", "resolved_at"),
    "resolved_status_has_resolution_time": ("status", "resolved_at"),
    "updated_not_before_creation": ("created_at", "updated_at"),
    "response_not_before_sending": ("sent_at", "responded_at"),
    "score_needs_response_time": ("score", "responded_at"),
    "published_article_has_publication_time": ("status", "published_at"),
}


# How far past this machine's clock a timestamp of an interaction, a message or a survey may lie when it is loaded:
# a day covers a clock out of step and a local time read in a wrong zone. Anything later is a typo (2062 for
# 2026) or a broken export, and loaded it would move the warehouse's as-of time, the "now" of every open
# interaction (docs/METRICS.md), years ahead: every running SLA breached, the backlog grown to that year.
FUTURE_TOLERANCE = pd.Timedelta(days=1)
FUTURE_CHECKED = ("interactions", "messages", "csat_surveys")  # an article may be dated for a later publication


def future_limit() -> pd.Timestamp:
    """The latest timestamp ``not_in_the_future`` lets through: the machine's clock (read now) plus
    ``FUTURE_TOLERANCE``."""
    return pd.Timestamp.now(tz="UTC") + FUTURE_TOLERANCE


def not_in_the_future(s: pd.Series) -> pd.Series:
    """The check ``not_in_the_future``: no later than ``future_limit()`` when the check runs."""
    return (s.isna() | (s <= future_limit())).astype(bool)


@functools.cache
def _pandera_ready() -> None:
    """pandera's pandas backend and the models' schemas, set up once per process without the optional imports
    (``_without``): pandera's annotation types (first read by ``to_schema``) look for pyspark.pandas too."""
    with _without("pyspark", "hypothesis"):
        pa.DataFrameSchema({}).validate(pd.DataFrame())
        for model in MODELS.values():
            model.to_schema()


def _schema(entity: str) -> pa.DataFrameSchema:
    _pandera_ready()
    return MODELS[entity].to_schema()


def column_types(entity: str) -> dict[str, str]:
    """Column -> one of 'str', 'ts', 'bool', 'int', in contract order."""
    schema = _schema(entity)
    out = {}
    for name, col in schema.columns.items():
        d = str(col.dtype)
        out[name] = (
            "ts" if d.startswith("datetime64") else
            "bool" if d == "boolean" else
            "int" if d == "Int64" else "str"
        )
    return out


# Columns a file may leave out, and the value they then take (noted in the batch's audit row).
DEFAULTS = {
    "interactions": {"handled_by_bot": "false", "reopen_count": "0"},
    "messages": {"is_public": "true"},
    "csat_surveys": {},
    "faq_articles": {},
}
# Columns derived from others when a file leaves them out (see read.derive_missing).
DERIVED = {"interactions": ("updated_at",), "faq_articles": ("updated_at",)}


def required_columns(entity: str) -> list[str]:
    """Columns a file must have: the non-nullable ones that can be neither defaulted nor derived."""
    schema = _schema(entity)
    optional = set(DEFAULTS[entity]) | set(DERIVED.get(entity, ()))
    return [n for n, c in schema.columns.items() if not c.nullable and n not in optional]


def _id_matches(s: pd.Series) -> pd.Series:
    """``s.str.match(ID_PATTERN)``, the same answer for every value: the ids ``ID_PATTERN_ASCII`` matches match
    ID_PATTERN too (a printable ASCII character other than a space is no whitespace, and printable ASCII holds no
    line break); the others are matched with ID_PATTERN itself."""
    ok = s.str.match(ID_PATTERN_ASCII).astype(bool)
    rest = ~ok.to_numpy()
    if rest.any():
        ok[rest] = s[rest].str.match(ID_PATTERN).astype(bool).to_numpy()
    return ok


def _fast_id_checks(schema: pa.DataFrameSchema) -> pa.DataFrameSchema:
    """The schema with each ``str_matches(ID_PATTERN)`` check evaluated by ``_id_matches``: the same check (its
    name and its error, which quarantine stores as the check name), the same result, without Python's re on
    every value."""
    for name, col in schema.columns.items():
        checks = [pa.Check(_id_matches, name=c.name, error=c.error, ignore_na=c.ignore_na)
                  if c.name == "str_matches" and c.statistics.get("pattern") == ID_PATTERN else c
                  for c in col.checks]
        if any(a is not b for a, b in zip(checks, col.checks, strict=True)):
            schema = schema.update_column(name, checks=checks)
    return schema


def schema_for(entity: str, config: Config) -> pa.DataFrameSchema:
    """The entity's schema with the configured value sets added (and the id pattern checked fast, with the same
    result: ``_fast_id_checks``). Built once per entity and value sets (0.05 s a time, for every chunk of 100,000
    rows it was), and shared by the validation threads: validating reads a schema, never changes it."""
    if entity != "interactions":
        return _schema_with(entity, (), (), (), ())
    c = config.contract
    return _schema_with(entity, tuple(config.channels), tuple(c.statuses), tuple(c.priorities),
                        tuple(c.statuses_of("resolved", "closed")))


@functools.cache
def _schema_with(entity: str, channels: tuple, statuses: tuple, priorities: tuple,
                 done: tuple) -> pa.DataFrameSchema:
    schema = _fast_id_checks(_schema(entity))
    extra: dict[str, list] = {}
    if entity == "interactions":
        extra = {"channel": list(channels), "status": list(statuses), "priority": list(priorities)}
    for col, allowed in extra.items():
        checks = [*schema.columns[col].checks, pa.Check.isin(allowed)]
        schema = schema.update_column(col, checks=checks)
    if entity in FUTURE_CHECKED:
        for col, kind in column_types(entity).items():
            if kind == "ts":
                checks = [*schema.columns[col].checks, pa.Check(not_in_the_future, name="not_in_the_future")]
                schema = schema.update_column(col, checks=checks)
    if entity == "interactions":
        done = list(done)

        def resolved_status_has_resolution_time(df: pd.DataFrame) -> pd.Series:
            return (~df.status.isin(done) | df.resolved_at.notna()).astype(bool)

        check = pa.Check(resolved_status_has_resolution_time, name="resolved_status_has_resolution_time")
        schema = copy.deepcopy(schema)  # never change the model's cached schema
        schema.checks = [*schema.checks, check]
    return schema
