"""From text to typed, checked rows: parse, redact, validate with pandera, split good from bad.

A row with any failure goes to quarantine, one quarantine record per failure, each with the
column, the check and the failing value (redacted like everything else). Rows are never dropped
silently: each input record ends up either in ``good`` or in ``failures``.
"""

from __future__ import annotations

import csv
import json
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute as pac

from ..config import Config
from .contract import CROSS_CHECK_COLUMNS, FREE_TEXT, column_types, pa, schema_for
from .privacy import pseudonymise_series, redact_series, redact_text
from .read import EXTRA, FileSpec, RawChunk

OFFSET_RE = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"
TRUE = {"true", "t", "1", "yes", "y"}
FALSE = {"false", "f", "0", "no", "n"}
_NOTES_LOCK = threading.Lock()
QUARANTINE_COLUMNS = ["row_number", "column_name", "check_name", "failing_value", "raw_row"]


@dataclass
class Validated:
    good: pd.DataFrame  # typed, contract columns, plus _row_number
    failures: pd.DataFrame  # QUARANTINE_COLUMNS
    rows_read: int
    rows_bad: int
    timings: dict = field(default_factory=dict)


def _blank_to_na(s: pd.Series) -> pd.Series:
    if s.dtype.kind == "M":
        return s
    s = s.astype(pd.StringDtype("pyarrow", na_value=np.nan))
    stripped = s.str.strip()
    return s.where(stripped.fillna("") != "", other=None)


def _parse_with_format(s: pd.Series, fmt: str | None, tz: str | None,
                       out: pd.Series, check: pd.Series) -> pd.Series:
    """Values read with the source's ``timestamp_format``; returns the values still to read as ISO 8601."""
    if fmt is None or s.empty:
        return s
    if fmt in ("unix", "unix_ms"):
        num = pd.to_numeric(s, errors="coerce")
        ok = num.notna() & (num.abs() < (1e16 if fmt == "unix_ms" else 1e13))
        if ok.any():
            vals = pd.to_datetime(num[ok], unit="ms" if fmt == "unix_ms" else "s", utc=True)
            out.loc[vals.index] = vals.dt.as_unit("us")
        return s[~ok]
    parsed = pd.to_datetime(s, format=fmt, errors="coerce", utc="%z" in fmt or "%Z" in fmt)
    ok = parsed.notna()
    if ok.any():
        vals = parsed[ok]
        if getattr(vals.dt, "tz", None) is not None:
            vals = vals.dt.tz_convert("UTC")
        elif tz is not None:
            vals = vals.dt.tz_localize(tz, ambiguous=np.ones(len(vals), dtype=bool),
                                       nonexistent="shift_forward").dt.tz_convert("UTC")
        else:
            check[vals.index] = "timestamp_has_offset"
            return s[~ok]
        out.loc[vals.index] = vals.dt.as_unit("us")
    return s[~ok]


_CANONICAL = np.frombuffer(b"0000-00-00T00:00:00Z", dtype=np.uint8)  # what most exports write
_CANONICAL_DIGIT = _CANONICAL == ord("0")


def _canonical_utc(text: pd.Series) -> tuple[np.ndarray, pd.Series] | None:
    """The values written exactly ``YYYY-MM-DDTHH:MM:SSZ`` with a year 1900-2199, read at once by pyarrow's cast:
    (their mask, their instants). pandas' ISO 8601 reader gives the same instants for them (pyarrow reads the
    same fields, and refuses the same impossible dates and times); when any of them is impossible (a 30 February,
    a hour 24), None, and the ISO 8601 reader reads every value as before. ``text``: stripped, no nulls."""
    if text.empty:
        return None
    arr = pyarrow.array(text, type=pyarrow.large_string(), from_pandas=True)
    if isinstance(arr, pyarrow.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + n + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8) if arr.buffers()[2] is not None else None
    mask = (offsets[1:] - offsets[:-1]) == len(_CANONICAL)
    if arr.null_count:
        mask &= arr.is_valid().to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(mask)
    if data is None or not rows.size:
        return None
    width = len(_CANONICAL)
    if rows.size == n and offsets[-1] - offsets[0] == n * width:  # all of them 20 characters: one block
        b = data[offsets[0]:offsets[-1]].reshape(n, width)
    else:
        b = data[offsets[rows][:, None] + np.arange(width)]
    century = (b[:, 0] == ord("1")) & (b[:, 1] == ord("9")) | (b[:, 0] == ord("2")) & (b[:, 1] <= ord("1"))
    ok = ((b[:, ~_CANONICAL_DIGIT] == _CANONICAL[~_CANONICAL_DIGIT]).all(axis=1)
          & ((b[:, _CANONICAL_DIGIT] - np.uint8(ord("0"))) <= 9).all(axis=1) & century)
    mask[:] = False
    mask[rows[ok]] = True
    if not mask.any():
        return None
    try:
        ts = pac.cast(arr.filter(pyarrow.array(mask)), pyarrow.timestamp("us", tz="UTC"))
    except pyarrow.ArrowInvalid:
        return None
    values = ts.to_pandas().astype("datetime64[us, UTC]")
    values.index = text.index[mask]
    return mask, values


def parse_timestamps(s: pd.Series, tz: str | None, fmt: str | None = None) -> tuple[pd.Series, pd.Series]:
    """Text -> UTC timestamps. Returns (values, failed check name per row or None).

    An ISO 8601 value with an offset (``Z``, ``+08:00``) is converted to UTC. A value without an
    offset is read in the source's configured time zone, and refused when there is none. In a
    fall-back hour the first (summer-time) reading is taken; a time skipped by spring-forward
    moves forward to the first valid instant.
    """
    check = pd.Series([None] * len(s), index=s.index, dtype="object")
    if s.dtype.kind == "M":  # Parquet timestamp
        if s.dt.tz is None:
            if tz is None:
                bad = s.notna()
                check[bad] = "timestamp_has_offset"
                return pd.Series(pd.NaT, index=s.index, dtype="datetime64[us, UTC]"), check
            s = s.dt.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
        return s.dt.tz_convert("UTC").dt.as_unit("us"), check
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us, UTC]")
    present = s.notna()
    if not present.any():
        return out, check
    text = s[present].str.strip()
    fast = _canonical_utc(text) if fmt is None else None  # a source's own format is read first
    if fast is not None:
        mask, values = fast
        out.loc[values.index] = values
        text = text[~mask]
    text = _parse_with_format(text, fmt, tz, out, check)
    text = text[check[text.index].isna().to_numpy()] if fmt is not None else text
    if text.empty:
        return out, check
    has_offset = text.str.contains(OFFSET_RE, regex=True)
    aware = text[has_offset]
    if len(aware):
        parsed = pd.to_datetime(aware, format="ISO8601", utc=True, errors="coerce")
        out.loc[aware.index] = parsed.dt.as_unit("us")
        check[parsed.index[parsed.isna()]] = "parse_timestamp_iso8601"
    naive = text[~has_offset]
    if len(naive):
        if tz is None:
            readable = pd.to_datetime(naive, format="ISO8601", errors="coerce").notna()
            check[naive.index[readable.to_numpy()]] = "timestamp_has_offset"
            check[naive.index[~readable.to_numpy()]] = "parse_timestamp_iso8601"
        else:
            parsed = pd.to_datetime(naive, format="ISO8601", errors="coerce")
            if getattr(parsed.dt, "tz", None) is not None:  # pragma: no cover - offsets handled above
                parsed = parsed.dt.tz_convert("UTC")
            else:
                parsed = parsed.dt.tz_localize(tz, ambiguous=np.ones(len(parsed), dtype=bool),
                                               nonexistent="shift_forward").dt.tz_convert("UTC")
            out.loc[naive.index] = parsed.dt.as_unit("us")
            check[parsed.index[parsed.isna()]] = "parse_timestamp_iso8601"
    return out, check


def parse_booleans(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    low = s.str.strip().str.lower()
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[low.isin(TRUE).fillna(False).astype(bool)] = True
    out[low.isin(FALSE).fillna(False).astype(bool)] = False
    check = pd.Series([None] * len(s), index=s.index, dtype="object")
    check[(s.notna() & out.isna()).astype(bool)] = "parse_boolean"
    return out, check


_DIGITS = r"^[0-9]{1,15}$"  # below 2**53: what pyarrow's cast reads as pandas' to_numeric does


def parse_integers(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    stripped = s.str.strip()
    arr = pyarrow.array(stripped, type=pyarrow.large_string(), from_pandas=True)
    if len(arr) and pac.all(pac.match_substring_regex(arr, _DIGITS)).as_py() is not False:
        # every value (or null) plain digits, as most files write them: one cast (to_numeric: 0.1 s per 200,000)
        out = pd.Series(pd.array(pac.cast(arr, pyarrow.int64()).to_pandas(types_mapper=pd.ArrowDtype),
                                 dtype="Int64"), index=s.index)
        return out, pd.Series([None] * len(s), index=s.index, dtype="object")
    num = pd.to_numeric(stripped, errors="coerce")
    integral = num.notna() & (num == np.floor(num)) & (num.abs() < 2**53)
    out = num.where(integral).astype("Float64").astype("Int64")
    check = pd.Series([None] * len(s), index=s.index, dtype="object")
    check[(s.notna() & ~integral).astype(bool)] = "parse_integer"
    return out, check


def protect(entity: str, frame: pd.DataFrame, config: Config, key: bytes | None) -> pd.DataFrame:
    """Redact free text and pseudonymise customer ids: before anything is validated or stored."""
    frame = frame.copy()
    for col in FREE_TEXT[entity]:
        frame[col] = redact_series(frame[col])
    if entity == "interactions" and key is not None:
        frame["customer_id"] = pseudonymise_series(frame["customer_id"], key)
    return frame


def validate_chunk(spec: FileSpec, chunk: RawChunk, config: Config, key: bytes | None) -> Validated:
    entity = spec.entity
    timings: dict[str, float] = {}
    t = time.perf_counter()
    text = chunk.frame.reset_index(drop=True)
    text = pd.DataFrame({c: _blank_to_na(text[c]) for c in text.columns})
    text = apply_source(spec, text)
    timings["blank"] = time.perf_counter() - t
    t = time.perf_counter()
    text = protect(entity, text, config, key)
    thread = spec.source.thread if spec.source is not None else None
    if thread is not None and key is not None:  # a thread's customer column names a customer, as customer_id does:
        # hashed before anything keeps it (the interactions' customer_id, and a quarantined row's raw_row)
        text[EXTRA + thread.customer] = pseudonymise_series(text[EXTRA + thread.customer], key)
    timings["privacy"] = time.perf_counter() - t
    t = time.perf_counter()
    n = len(text)
    typed: dict[str, pd.Series] = {}
    parse_fail: list[tuple[np.ndarray, str, str]] = []  # (row positions, column, check)
    for col, kind in column_types(entity).items():
        s = text[col]
        if kind == "str":
            typed[col] = s
            continue
        if kind == "ts":
            values, check = parse_timestamps(s, spec.timezone, _fmt(spec))
        elif kind == "bool":
            values, check = parse_booleans(s)
        else:
            values, check = parse_integers(s)
        typed[col] = values
        for name in check.dropna().unique():
            parse_fail.append((np.flatnonzero((check == name).to_numpy()), col, name))
    df = pd.DataFrame(typed)
    _derive_plus(spec, text, df, parse_fail)
    rating = _row_rating(spec, text, parse_fail)
    df = derive_missing(entity, spec, df)
    if "topic" in df.columns:
        df, text = _slug_topics(entity, df, text)
    timings["parse"] = time.perf_counter() - t
    t = time.perf_counter()

    records: list[tuple[int, str | None, str, object]] = []  # (position, column, check, value)
    for positions, col, check in parse_fail:
        vals = text[col].astype(str).to_numpy()[positions]
        records.extend((int(p), col, check, v) for p, v in zip(positions, vals, strict=True))
    parsed_bad = {(r[0], r[1]) for r in records}
    schema = schema_for(entity, config)
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        # a value that failed to parse is null in the typed frame: don't report it twice
        records.extend(
            r for r in _pandera_records(err.failure_cases, text, spec, df, parsed_bad)
            if not (r[2] == "not_nullable" and (r[0], r[1]) in parsed_bad)
        )
    timings["pandera"] = time.perf_counter() - t
    bad_positions = np.unique(np.fromiter((r[0] for r in records), dtype=np.int64, count=len(records)))
    good_mask = np.ones(n, dtype=bool)
    good_mask[bad_positions] = False
    good = df[good_mask].copy()
    good["_row_number"] = chunk.row_numbers[good_mask]
    if rating is not None:  # for row_surveys
        good["_survey_score"] = rating.to_numpy()[good_mask]
        comment = spec.source.survey.comment  # type: ignore[union-attr]
        good["_survey_comment"] = (redact_series(text[EXTRA + comment]).to_numpy()[good_mask] if comment
                                   else pd.Series(None, index=text.index, dtype="str").to_numpy()[good_mask])
    if thread is not None:  # for thread_interactions (hashed above)
        good["_thread_customer"] = text[EXTRA + thread.customer].to_numpy()[good_mask]
    failures = _failure_frame(records, chunk, text, spec, key)
    return Validated(
        good=good.reset_index(drop=True),
        failures=failures,
        rows_read=n + len(chunk.malformed),
        rows_bad=len(bad_positions) + len(chunk.malformed),
        timings=timings,
    )


def _fmt(spec: FileSpec) -> str | None:
    return spec.source.timestamp_format if spec.source is not None else None


def _column(text: pd.DataFrame, name: str) -> pd.Series:
    """A file column carried as an extra, else the contract column of that name."""
    return text[EXTRA + name] if EXTRA + name in text.columns else text[name]


def apply_source(spec: FileSpec, text: pd.DataFrame) -> pd.DataFrame:
    """The source's value maps, copies, comparisons, constants and defaults, on text (docs/SOURCES.md)."""
    src = spec.source
    if src is None:
        return text
    text = text.copy()
    for col, rule in src.derive.items():
        if rule.kind == "copy":
            parts = [_column(text, name) for name in rule.inputs]
            out = parts[0]
            for p in parts[1:]:
                out = out.fillna(p)
            text[col] = out
        elif rule.kind == "equal":
            a, b = (_column(text, name) for name in rule.inputs)
            same = (a == b).fillna(False).astype(bool)
            out = pd.Series(rule.otherwise, index=text.index, dtype="str").where(~same, rule.then)
            text[col] = out.where(a.notna() | b.notna(), None)
    for col, mapping in src.values.items():
        s = text[col]
        if s.notna().any():
            stripped = s.str.strip()
            folded = {k.casefold(): v for k, v in mapping.items()}  # an exact key first, then any case
            text[col] = stripped.map(lambda v, m=mapping, f=folded: m.get(v, f.get(v.casefold(), v)),
                                     na_action="ignore").astype(s.dtype)
    for col, value in src.constants.items():
        text[col] = pd.Series(value, index=text.index, dtype=text[col].dtype if col in text else "str")
    for col, value in src.defaults.items():
        text[col] = text[col].fillna(value)
    return text


def _row_rating(spec: FileSpec, text: pd.DataFrame, parse_fail: list) -> pd.Series | None:
    """The rating column of a ``survey`` source, parsed; a rating that is not an integer 1..5 fails the row."""
    if spec.source is None or spec.source.survey is None:
        return None
    col = EXTRA + spec.source.survey.score
    values, check = parse_integers(text[col])
    for name in check.dropna().unique():
        parse_fail.append((np.flatnonzero((check == name).to_numpy()), col, name))
    out_of_range = (values.notna() & ((values < 1) | (values > 5))).fillna(False).to_numpy(dtype=bool)
    if out_of_range.any():
        parse_fail.append((np.flatnonzero(out_of_range), col, "score_in_range(1, 5)"))
    return values


_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def _derive_plus(spec: FileSpec, text: pd.DataFrame, df: pd.DataFrame, parse_fail: list) -> None:
    """``start + duration`` columns, after the start has been parsed; a bad duration fails the row."""
    src = spec.source
    if src is None:
        return
    by_file = {s: d for s, d in spec.mapping.items()}
    for col, rule in src.derive.items():
        if rule.kind != "plus":
            continue
        if rule.start in by_file and column_types(spec.entity).get(by_file[rule.start]) == "ts":
            start = df[by_file[rule.start]]
        elif EXTRA + rule.start in text.columns:
            start, check = parse_timestamps(text[EXTRA + rule.start], spec.timezone, _fmt(spec))
            for name in check.dropna().unique():
                parse_fail.append((np.flatnonzero((check == name).to_numpy()), EXTRA + rule.start, name))
        else:
            start = df[rule.start]
        raw = _column(text, rule.plus)
        num = pd.to_numeric(raw.str.strip(), errors="coerce")
        bad = (raw.notna() & num.isna()).to_numpy()
        if bad.any():
            parse_fail.append((np.flatnonzero(bad), EXTRA + rule.plus if EXTRA + rule.plus in text else rule.plus,
                               "parse_duration"))
        delta = pd.to_timedelta(num.astype("float64") * _UNIT_SECONDS[rule.unit], unit="s")
        df[col] = (start + delta.to_numpy()).astype("datetime64[us, UTC]")


SLUG_RE = re.compile(r"[^a-z0-9]+")
# combining accents, after NFKD: É -> E. The characters themselves, not \u escapes: pandas runs a pattern with
# escapes through Python's re, value by value, and this one through pyarrow's RE2 (the same range)
MARKS_RE = re.compile("[\u0300-\u036f]+")


def slug(value: str) -> str:
    """The topic slug rule: accents dropped, lower case, every run of other characters one underscore,
    at most 64 characters."""
    plain = MARKS_RE.sub("", unicodedata.normalize("NFKD", value)).lower()
    return SLUG_RE.sub("_", plain).strip("_")[:64].rstrip("_")


def _slug_topics(entity: str, df: pd.DataFrame, text: pd.DataFrame):
    """Topic tags normalised to the slug rule (``Refund not showing up!`` -> ``refund_not_showing_up``),
    the original kept in ``topic_label`` (interactions). A tag with nothing left (only other scripts)
    stays as it is and fails ``str_matches``."""
    original = df["topic"].astype(pd.StringDtype("pyarrow", na_value=np.nan))
    # once per distinct tag (a file holds few): 0.1 s per 200,000 rows when every row was slugged
    codes, tags = pd.factorize(original)
    tags = pd.Series(pd.array(tags, dtype=original.dtype))
    slugged = (tags.str.normalize("NFKD").str.replace(MARKS_RE.pattern, "", regex=True).str.lower()
               .str.replace(SLUG_RE.pattern, "_", regex=True).str.strip("_")
               .str.slice(0, 64).str.rstrip("_"))  # the vectorised slug()
    slugged = slugged.where(slugged.fillna("") != "", tags)
    df = df.copy()
    df["topic"] = pd.Series(pd.array(slugged, dtype=original.dtype).take(codes, allow_fill=True),
                            index=original.index)
    if entity == "interactions":
        df["topic_label"] = original
    return df, text


def derive_missing(entity: str, spec: FileSpec, df: pd.DataFrame) -> pd.DataFrame:
    """updated_at, when the file has none: the latest timestamp the row carries."""
    if "updated_at" in spec.mapping.values() or "updated_at" not in df.columns:
        return df
    if entity == "interactions":
        parts = [df.created_at, df.first_response_at, df.resolved_at]
    else:
        parts = [df.published_at]
    derived = pd.concat(parts, axis=1).max(axis=1)
    df["updated_at"] = derived.astype("datetime64[us, UTC]")
    with _NOTES_LOCK:  # chunks of one file may be validated on several threads (parallel.py)
        if "derived updated_at" not in spec.notes:
            spec.notes.append("derived updated_at")
    return df


def _pandera_records(fc: pd.DataFrame, text: pd.DataFrame, spec: FileSpec, typed: pd.DataFrame,
                     parsed_bad: set):
    """pandera's failure cases as quarantine records. A cross-column check is one record per row, left out where
    one of its columns failed to parse in that row, or failed a check of its own there (reported once: as that
    failure; a created_at in the future is not also "before creation" of each other time), and so is a column derived
    from one that failed (a first reply computed as a 2062 created_at plus minutes); its value shows each column as
    read, or as derived where the file has no such column (a start plus minutes)."""
    fc = fc[fc["index"].notna()]
    failed = set()  # (row, column) of the column checks' failures
    own = []
    for row in fc.itertuples(index=False):
        pos = int(row.index)
        check = str(row.check)
        if row.schema_context == "DataFrameSchema" and check in CROSS_CHECK_COLUMNS:
            continue  # handled below, once per row rather than once per column
        col = None if row.schema_context == "DataFrameSchema" else str(row.column)
        value = text[col].iloc[pos] if col in text.columns else row.failure_case
        if check == "not_nullable":
            value = None
        failed.add((pos, col))
        own.append((pos, col, check, value))
    # a column derived from others (a start plus minutes) fails with them: reported once, as their failure
    inputs = {col: {spec.mapping.get(i, EXTRA + i) for i in _rule_inputs(spec, col)} for col in {r[1] for r in own}}
    for pos, col, check, value in own:
        if not any((pos, i) in failed or (pos, i) in parsed_bad for i in inputs.get(col) or ()):
            yield pos, col, check, value
    cross = fc[(fc.schema_context == "DataFrameSchema") & fc.check.isin(list(CROSS_CHECK_COLUMNS))]
    for (pos, check), _ in cross.groupby(["index", "check"], sort=True):
        cols = CROSS_CHECK_COLUMNS[check]
        pos = int(pos)
        read_from = {n for c in cols for name in (c, *_rule_inputs(spec, c)) for n in (name, EXTRA + name)}
        if any((pos, n) in parsed_bad for n in read_from) or any((pos, c) in failed for c in cols):
            continue
        value = "; ".join(f"{spec.label(c)}={_shown_value(text, typed, c, pos)}" for c in cols)
        yield pos, ",".join(spec.label(c) for c in cols), str(check), value


def _rule_inputs(spec: FileSpec, col: str) -> list[str]:
    """The file columns a source's rule derives ``col`` from (none: the file's own column)."""
    rule = spec.source.derive.get(col) if spec.source is not None else None
    return rule.inputs if rule is not None else []


def _shown_value(text: pd.DataFrame, typed: pd.DataFrame, col: str, pos: int) -> str:
    """A column's value in a row as read, else as parsed or derived (ISO 8601 for an instant)."""
    shown = _show(text[col].iloc[pos]) if col in text.columns else ""
    if shown or col not in typed.columns:
        return shown
    v = typed[col].iloc[pos]
    return v.isoformat() if hasattr(v, "isoformat") and not pd.isna(v) else _show(v)


def protect_line(line: str, spec: FileSpec, key: bytes | None) -> dict:
    """A record that could not be split into the table's fields, made safe to keep: every field redacted,
    and the customer id pseudonymised where it can still be found (its header position in a CSV line,
    its key in a JSON line). Best effort: a line too broken to split keeps only redacted text."""
    def pseudo(v: str) -> str:
        return pseudonymise_series(pd.Series([v], dtype="str"), key).iloc[0] if key else v

    # the file columns that name the customer: customer_id's, and a threaded source's customer column
    customer_cols = [src for src, dst in spec.mapping.items() if dst == "customer_id" and spec.entity == "interactions"]
    if spec.source is not None and spec.source.thread is not None:
        customer_cols.append(spec.source.thread.customer)
    if spec.fmt == "csv":
        try:
            fields = next(csv.reader([line], delimiter=spec.delimiter or ","))
        except (csv.Error, StopIteration):
            return {"_line": redact_text(line)}
        fields = [redact_text(f) for f in fields]
        for col in customer_cols:
            if col in spec.header:
                i = spec.header.index(col)
                if i < len(fields) and fields[i]:
                    fields[i] = pseudo(fields[i])
        return {"_fields": fields}
    text = redact_text(line)
    for col in customer_cols:
        text = re.sub(rf'("{re.escape(col)}"\s*:\s*")([^"]*)(")',
                      lambda m: m.group(1) + pseudo(m.group(2)) + m.group(3), text)
    return {"_line": text}


def _show(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
        return ""
    return str(v)


_ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?")


def _failure_frame(records, chunk: RawChunk, text: pd.DataFrame, spec: FileSpec, key: bytes | None) -> pd.DataFrame:
    """The quarantine rows of a chunk. Only the free text was redacted before validation: every other value a
    failing row keeps is redacted here (a shifted export puts an e-mail address in ``region`` or a phone in
    ``priority``, and the data quality page shows the values that failed: an operator review, 2026-11-28), as are
    the columns a source reads beyond the contract (``EXTRA``: a thread's author, a survey's comment, a rule's
    inputs; a thread's customer column is already hashed: validate_chunk). Each distinct value once; the free text
    is not redacted a second time."""
    redacted: dict[str, str] = {}
    free_text = set(FREE_TEXT[spec.entity])

    def shown(col: str | None, v) -> str:
        v = _show(v)
        if col in free_text or len(v) < 6 or _ISO_INSTANT.fullmatch(v):  # redacted already; too short; a time
            return v
        if v not in redacted:
            redacted[v] = redact_text(v)
        return redacted[v]

    rows = []
    cache: dict[int, str] = {}
    for pos, col, check, value in records:
        if pos not in cache:
            cache[pos] = json.dumps(
                {c.removeprefix(EXTRA): shown(c, text[c].iloc[pos]) or None for c in text.columns}, ensure_ascii=False
            )
        label = col if col is None or "," in col else spec.label(col)  # cross checks are labelled already
        rows.append((int(chunk.row_numbers[pos]), label, check, shown(col, value) or None, cache[pos]))
    for number, check, line in chunk.malformed:
        rows.append((int(number), None, check, None, json.dumps(protect_line(line, spec, key), ensure_ascii=False)))
    return pd.DataFrame(rows, columns=QUARANTINE_COLUMNS).astype(
        {"row_number": "int64", "column_name": "str", "check_name": "str", "failing_value": "str", "raw_row": "str"}
    )


def thread_interactions(spec: FileSpec, messages: pd.DataFrame, config: Config) -> pd.DataFrame:
    """The interactions of a threaded message log (``[sources.X.thread]``), one per interaction_id.

    created_at: the first customer message (else the first message); first_response_at: the first agent
    message from then on (none in a thread without a customer message); customer_id: the customer column of
    the message that opened the thread (else of the first customer message; a thread without one:
    ``unknown:<interaction id>``); first_message: its (redacted) text; updated_at: the last message.
    With ``resolve_after_hours``, a thread quiet that long before the log's last message is resolved at its
    last message (the first status of class resolved/closed); otherwise it is open. Other columns come from
    ``thread.interaction``. Raises InputFileError when the result breaks the contract (a constant that is not
    configured)."""
    from ..errors import InputFileError

    th = spec.source.thread  # type: ignore[union-attr]
    m = messages.sort_values(["interaction_id", "sent_at", "_row_number"])
    g = m.groupby("interaction_id", sort=True)
    first = g.head(1).set_index("interaction_id")
    cust = m[m.sender_role == "customer"]
    cust_first = cust.groupby("interaction_id").head(1).set_index("interaction_id")
    out = pd.DataFrame(index=first.index)
    out["created_at"] = cust_first.sent_at.reindex(out.index).fillna(first.sent_at)
    agents = m[m.sender_role == "agent"].merge(out["created_at"], left_on="interaction_id", right_index=True)
    agents = agents[agents.sent_at >= agents.created_at]
    # a thread with no customer message (its opening tweet not in the log) starts no clock: no first response
    out["first_response_at"] = agents.groupby("interaction_id").sent_at.min().reindex(out.index).where(
        out.index.isin(cust_first.index))
    last = g.sent_at.max()
    out["updated_at"] = last
    opener = first["_thread_customer"].where(first.sender_role == "customer")
    # a thread of agent messages only (a reply to a message not in the log) has no customer in the log: its own
    # "unknown:<interaction id>", never the company's author id (every such thread was one customer's repeat
    # contact, the company's)
    unknown = pd.Series("unknown:" + out.index.astype(str), index=out.index)
    out["customer_id"] = opener.fillna(cust_first["_thread_customer"].reindex(out.index)).fillna(unknown)
    out["first_message"] = cust_first.text.reindex(out.index)
    done = config.contract.statuses_of("resolved", "closed")
    still = config.contract.statuses_of("open")
    if th.resolve_after_hours is not None and done:
        quiet = last <= m.sent_at.max() - pd.Timedelta(hours=th.resolve_after_hours)
    else:
        quiet = pd.Series(False, index=out.index)
    out["status"] = np.where(quiet, done[0] if done else None, still[0] if still else None)
    out["resolved_at"] = last.where(quiet)
    consts = dict(th.interaction)
    prio = consts.pop("priority", "normal" if "normal" in config.contract.priorities else config.contract.priorities[0])
    out["priority"] = prio
    for col, value in consts.items():
        out[col] = value
    out = out.reset_index()
    out["_row_number"] = first["_row_number"].to_numpy()
    cols = column_types("interactions")
    frame = {}
    for col, kind in cols.items():
        if col in out.columns:
            frame[col] = out[col]
        elif kind == "bool":
            frame[col] = pd.Series(False, index=out.index, dtype="boolean")
        elif kind == "int":
            frame[col] = pd.Series(0, index=out.index, dtype="Int64")
        else:
            frame[col] = pd.Series(None, index=out.index, dtype="str")
    df = pd.DataFrame(frame)
    for col, kind in cols.items():
        if kind == "ts":
            df[col] = pd.to_datetime(df[col], utc=True).astype("datetime64[us, UTC]")
        elif kind == "str":
            df[col] = df[col].astype(pd.StringDtype("pyarrow", na_value=np.nan))
    if df["status"].isna().any():
        raise InputFileError(f"{spec.path.name}: threading needs a status of class open (and resolved/closed) "
                             "in contract.status_classes")
    try:
        schema_for("interactions", config).validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
        first_fail = fc.iloc[0]
        raise InputFileError(
            f"{spec.path.name}: the interactions threaded from this file break the contract "
            f"({first_fail.column}: {first_fail.check}, value {first_fail.failure_case!r}); "
            "check the source's thread.interaction constants (channel, language, ...)"
        ) from err
    df["topic_label"] = pd.Series(None, index=df.index, dtype="str")
    df["_row_number"] = out["_row_number"].to_numpy()
    return df


def row_surveys(spec: FileSpec, rows: pd.DataFrame) -> pd.DataFrame:
    """CSAT surveys from the rated rows of an interactions file (``[sources.X.survey]``): survey_id =
    interaction_id, sent and answered at the row's ``survey.sent_at`` column. Rows without a rating or
    without that time give none."""
    sv = spec.source.survey  # type: ignore[union-attr]
    rated = rows[rows["_survey_score"].notna() & rows[sv.sent_at].notna()]
    out = pd.DataFrame({
        "survey_id": rated["interaction_id"].astype(pd.StringDtype("pyarrow", na_value=np.nan)),
        "interaction_id": rated["interaction_id"].astype(pd.StringDtype("pyarrow", na_value=np.nan)),
        "sent_at": rated[sv.sent_at].astype("datetime64[us, UTC]"),
        "responded_at": rated[sv.sent_at].astype("datetime64[us, UTC]"),
        "score": rated["_survey_score"].astype("Int64"),
        "comment": rated["_survey_comment"].astype(pd.StringDtype("pyarrow", na_value=np.nan)),
        "updated_at": rated[sv.sent_at].astype("datetime64[us, UTC]"),
        "_row_number": rated["_row_number"].astype("int64"),
    })
    return out.reset_index(drop=True)
