"""Reading input files: format, encoding, delimiter and entity detection, column mapping.

Every reader yields :class:`RawChunk` objects: a frame of *text* columns (already renamed to the
contract's names) plus the 1-based record number of each row in its file, and records that
could not even be split into fields (wrong field count, unparsable JSON line). Turning text into
types happens in :mod:`csqa.pipeline.ingest.validate`, so a bad value costs one row, never the file.

What decides a file's entity, in order:
1. a configured source whose ``match`` glob fits the file name and names an ``entity``;
2. the file name: ``interaction|ticket|conversation|contact`` -> interactions,
   ``message|transcript|event`` -> messages, ``csat|survey`` -> csat_surveys,
   ``faq|article|help`` -> faq_articles;
3. the columns: the one entity whose required columns are all present.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..config import Config, Source
from ..errors import InputFileError
from .contract import DEFAULTS, MODELS, column_types, required_columns

CHUNK_ROWS = 100_000
# pyarrow reads a CSV file in blocks of this size, and refuses a record that straddles more than two of them (a
# single record over ~32 MiB: measured, 20 MiB reads, 40 MiB does not); a chunk's rows are copied out of the blocks,
# so a 10M-row load keeps at most two blocks and the chunks in flight in memory (docs/BENCHMARKS.md, P2)
BLOCK_BYTES = 16 << 20
SNIFF_BYTES = 1 << 20
CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
SUPPORTED_SUFFIXES = CSV_SUFFIXES | JSONL_SUFFIXES | PARQUET_SUFFIXES
DELIMITERS = [",", ";", "\t", "|"]
EXTRA = "src::"  # prefix of file columns carried beside the contract columns (derive and thread inputs)
NAME_HINTS = [
    (re.compile(r"csat|survey", re.I), "csat_surveys"),
    (re.compile(r"faq|article|help", re.I), "faq_articles"),
    (re.compile(r"message|transcript|event", re.I), "messages"),
    (re.compile(r"interaction|ticket|conversation|contact", re.I), "interactions"),
]


@dataclass
class FileSpec:
    path: Path
    entity: str
    fmt: str  # csv | jsonl | parquet
    encoding: str | None  # for text formats
    delimiter: str | None
    timezone: str | None
    mapping: dict[str, str]  # file column -> contract column
    header: list[str]
    notes: list[str] = field(default_factory=list)
    source: Source | None = None
    extra: list[str] = field(default_factory=list)  # file columns read as-is for derive/thread rules
    source_names: dict[str, str] = field(default_factory=dict)  # contract column -> the user's own name

    def label(self, column: str | None) -> str | None:
        """The user's own name for a contract column (or an extra column), for quarantine reasons."""
        if column is None:
            return None
        if column.startswith(EXTRA):
            return column[len(EXTRA):]
        return self.source_names.get(column, column)


@dataclass
class RawChunk:
    frame: pd.DataFrame  # contract columns, text (object/str) or, for Parquet timestamps, datetime
    row_numbers: np.ndarray  # 1-based record number in the file, header excluded
    malformed: list[tuple[int, str, str]]  # (row_number, check, text) records not split into fields


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def detect_format(path: Path, head: bytes) -> str:
    suffix = path.suffix.lower()
    if head.startswith(b"PAR1") or suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in CSV_SUFFIXES:
        return "csv"
    raise InputFileError(
        f"{path.name}: unsupported file type {suffix or '(no extension)'!r}; "
        "csqa reads .csv/.tsv, .jsonl/.ndjson and .parquet"
    )


def detect_encoding(path: Path, head: bytes, configured: str) -> str:
    """UTF-8 (with or without BOM) or GB18030, or the source's configured encoding; anything else is refused
    with the reason. A Western European export (Windows-1252, "Excel CSV") often decodes as GB18030 too, each
    accented letter and the letter after it read as one Chinese character (``Jürgen`` -> ``J黵gen``): when the
    text looks like that rather than Chinese, it is refused, naming the setting that reads it."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputFileError(f"{path.name}: the file is UTF-16; export it again as UTF-8 (or GB18030)")
    if b"\x00" in head:
        raise InputFileError(f"{path.name}: the file holds NUL bytes; it is binary, not a text table")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    candidates = ["utf-8", "gb18030"] if configured == "auto" else [configured]
    for enc in candidates:
        try:
            codecs.getincrementaldecoder(enc)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        if configured == "auto" and enc == "gb18030" and _latin_not_chinese(head):
            example = _LATIN_IN_WORD.search(head)
            word = head[max(0, example.start() - 8):example.end() + 8].decode("windows-1252", "replace").split()
            raise InputFileError(
                f"{path.name}: the text is not UTF-8, and read as Chinese GB18030 it turns Latin words into Chinese "
                f"characters: it looks like a Windows-1252 (Western European, \"Excel CSV\") export "
                f"({' '.join(word)!r}). Export it again as UTF-8, or say how to read it in the file's "
                "[sources.<name>] (docs/SOURCES.md): encoding = \"windows-1252\", or encoding = \"gb18030\" if it "
                "is Chinese after all")
        return enc
    raise InputFileError(
        f"{path.name}: the text is neither {' nor '.join(c.upper() for c in candidates)}; "
        "export it again as UTF-8"
        + (" (a Western European export, Windows-1252 or \"Excel CSV\", is read with encoding = \"windows-1252\" "
           "in the file's [sources.<name>]: docs/SOURCES.md)" if configured == "auto" else "")
    )


# a Windows-1252 accented letter inside a Latin word (``J\xfcrgen``), or an upper-case one starting a word
# (``\xc1ngel``): in Chinese GB18030 text a character's first byte almost never sits between two ASCII letters, nor
# after a space with an ASCII letter as its second byte (bytes that are no letter in Windows-1252, such as the
# 0xAC of ``Amy珺``, are left out: a name that mixes both scripts is no sign)
_LATIN_IN_WORD = re.compile(rb"[A-Za-z][\xc0-\xd6\xd8-\xf6\xf8-\xff][A-Za-z]|(?:^|[\s,;\"'(])[\xc0-\xd6\xd8-\xde][a-z]")
# a GB2312 character (both bytes 0xA1-0xFE): the common Chinese characters
_GB2312_CHAR = re.compile(rb"[\xa1-\xf7][\xa1-\xfe]")


def _latin_not_chinese(head: bytes) -> bool:
    """Whether bytes that decode as GB18030 read better as a Latin 8-bit encoding: more accented letters inside
    Latin words than common Chinese characters."""
    latin = len(_LATIN_IN_WORD.findall(head))
    return latin > 0 and latin >= len(_GB2312_CHAR.findall(head))


def _normalise(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lstrip("\ufeff")).lower()


def build_mapping(header: list[str], source: Source | None, entity: str | None) -> dict[str, str]:
    """File column -> contract column: the configured mapping first, then case/space-insensitive names."""
    known = set()
    for ent in [entity] if entity else list(MODELS):
        known |= set(column_types(ent))
    configured = source.columns if source else {}
    mapping: dict[str, str] = {}
    for col in header:
        if col in configured:
            mapping[col] = configured[col]
        elif _normalise(col) in known:
            mapping[col] = _normalise(col)
    return mapping


def _provided(source: Source | None) -> set[str]:
    """Contract columns a source fills without a file column of that name."""
    if source is None:
        return set()
    out = set(source.constants) | set(source.defaults) | set(source.derive)
    if source.thread is not None:
        out |= {"interaction_id"}
    return out


def _source_names(header: list[str], mapping: dict[str, str], source: Source | None) -> dict[str, str]:
    names = {dst: src for src, dst in mapping.items()}
    if source is None:
        return names
    for col, rule in source.derive.items():
        if rule.kind == "copy":
            names[col] = " or ".join(rule.inputs)
        elif rule.kind == "plus":
            names[col] = f"{rule.start} + {rule.plus}"
        else:
            names[col] = " = ".join(rule.inputs)
    for col in source.constants:
        names[col] = f"{col} (constant)"
    for col in source.defaults:
        names.setdefault(col, f"{col} (default)")
    if source.thread is not None:
        names.setdefault("interaction_id", source.thread.by or source.thread.reply_to or "interaction_id")
    return names


def _extra_columns(path: Path, header: list[str], mapping: dict[str, str], source: Source | None) -> list[str]:
    if source is None:
        return []
    wanted: list[str] = []
    for col, rule in source.derive.items():
        for name in rule.inputs:
            if name in header:
                wanted.append(name)
            elif name not in mapping.values():
                raise InputFileError(
                    f"{path.name}: derive.{col} reads column {name!r}, which the file does not have; "
                    f"found: {', '.join(header[:30])}"
                )
    if source.survey is not None:
        for name in (source.survey.score, source.survey.comment):
            if name is None:
                continue
            if name not in header:
                raise InputFileError(f"{path.name}: survey reads column {name!r}, which the file does not have; "
                                     f"found: {', '.join(header[:30])}")
            wanted.append(name)
    if source.thread is not None:
        for name in (source.thread.by, source.thread.reply_to, source.thread.customer):
            if name is None:
                continue
            if name not in header:
                raise InputFileError(f"{path.name}: thread reads column {name!r}, which the file does not have; "
                                     f"found: {', '.join(header[:30])}")
            wanted.append(name)
    return list(dict.fromkeys(wanted))


def detect_entity(path: Path, mapped_cols: set[str], source: Source | None) -> str:
    if source and source.entity:
        return source.entity
    for pattern, entity in NAME_HINTS:
        if pattern.search(path.stem):
            return entity
    fits = [e for e in MODELS if set(required_columns(e)) <= mapped_cols]
    if len(fits) == 1:
        return fits[0]
    raise InputFileError(
        f"{path.name}: cannot tell which entity the file holds: its name says nothing and "
        f"its columns fit {', '.join(fits) if fits else 'none of them'}; name it after the entity "
        "(e.g. interactions_2026-11-24.csv) or configure a [sources] entry"
    )


def empty_delivery(path: Path, config: Config) -> str | None:
    """The entity of a CSV or JSON-lines file with nothing in it (white space, a byte-order mark at most): an
    export of a day with nothing to deliver, which holds no rows rather than a broken table (a JSON-lines export of
    no records is such a file). None for any other file (a Parquet file always holds its schema). Raises
    InputFileError when the file's name does not say which entity it would hold."""
    try:
        if path.stat().st_size > SNIFF_BYTES:
            return None
        with path.open("rb") as fh:  # a file with data shows it in its first bytes: only those are read
            head = fh.read(4096)
            if head.removeprefix(codecs.BOM_UTF8).strip():
                return None
            head += fh.read()
    except OSError:
        return None  # (reading it again reports the error)
    if head.removeprefix(codecs.BOM_UTF8).strip():
        return None
    try:
        if detect_format(path, head) == "parquet":
            return None
    except InputFileError:
        return None
    try:
        return detect_entity(path, set(), config.source_for(path.name))
    except InputFileError as e:
        raise InputFileError(f"{path.name}: the file is empty, and its name does not say which entity it would hold "
                             "(e.g. interactions_2026-11-24.csv)") from e


def _sniff_csv_header(path: Path, text: str, source: Source | None) -> tuple[str, list[str]]:
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise InputFileError(f"{path.name}: the file is empty (no header line)")
    first = lines[0]
    configured = source.delimiter if source else "auto"
    options = DELIMITERS if configured == "auto" else [configured]
    best: tuple[int, int, str, list[str]] | None = None
    for d in options:
        try:
            header = next(csv.reader([first], delimiter=d))
        except csv.Error as e:  # e.g. a field over the csv module's limit (131,072 characters): no header
            raise InputFileError(f"{path.name}: the first line is not a header of column names ({e})") from e
        recognised = len(build_mapping(header, source, None))
        key = (recognised, len(header), d, header)
        if best is None or key[:2] > best[:2]:
            best = key
    assert best is not None
    return best[2], [h.lstrip("\ufeff") for h in best[3]]


def inspect(path: Path, config: Config) -> FileSpec:
    """Open a file just enough to know how to read it. Raises InputFileError when it can't be."""
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    source = config.source_for(path.name)
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    fmt = detect_format(path, head)
    notes: list[str] = []
    encoding = delimiter = None
    if fmt == "parquet":
        try:
            header = list(pq.ParquetFile(path).schema_arrow.names)
        except (pa.ArrowException, OSError) as e:
            raise InputFileError(f"{path.name}: not a readable Parquet file ({e})") from e
    else:
        if not head.strip():
            raise InputFileError(f"{path.name}: the file is empty")
        encoding = detect_encoding(path, head, source.encoding if source else "auto")
        text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)
        if encoding.startswith("utf-8-sig"):
            notes.append("UTF-8 with BOM")
        elif encoding == "gb18030":
            notes.append("read as GB18030")
        elif encoding == "windows-1252":
            notes.append("read as Windows-1252")
        if fmt == "csv":
            delimiter, header = _sniff_csv_header(path, text, source)
            if delimiter != ",":
                notes.append(f"delimiter {delimiter!r}")
        else:
            header = _jsonl_header(path, text)
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise InputFileError(f"{path.name}: duplicate column names {dupes}")
    mapping = build_mapping(header, source, None)
    entity = detect_entity(path, set(mapping.values()) | _provided(source), source)
    mapping = build_mapping(header, source, entity)
    if source is not None and source.constants:  # a constant wins over a same-named file column
        mapping = {k: v for k, v in mapping.items() if v not in source.constants}
    missing = [c for c in required_columns(entity) if c not in set(mapping.values()) | _provided(source)]
    if missing:
        hint = ""
        if fmt == "csv" and len(header) == 1:
            hint = " (the header is one single column: is the delimiter one of , ; tab | ?)"
        raise InputFileError(
            f"{path.name}: required column(s) missing for {entity}: {', '.join(missing)}; "
            f"found: {', '.join(header[:30])}{hint}"
        )
    extra_cols = _extra_columns(path, header, mapping, source)
    extra = [h for h in header if h not in mapping and h not in extra_cols]
    if extra:
        notes.append(f"ignored columns: {', '.join(extra[:20])}")
    defaulted = [c for c in DEFAULTS[entity] if c not in set(mapping.values()) | _provided(source)]
    if defaulted:
        notes.append(f"defaulted columns: {', '.join(defaulted)}")
    return FileSpec(
        path=path, entity=entity, fmt=fmt, encoding=encoding, delimiter=delimiter,
        timezone=source.timezone if source else None, mapping=mapping, header=header, notes=notes,
        source=source, extra=extra_cols, source_names=_source_names(header, mapping, source),
    )


def _jsonl_header(path: Path, text: str) -> list[str]:
    keys: dict[str, None] = {}
    for line in text.splitlines()[:200]:
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            keys.update(dict.fromkeys(_flatten(obj)))
    if not keys:
        raise InputFileError(f"{path.name}: no JSON object found in the first lines; not a JSONL table")
    return list(keys)


def _read_columns(spec: FileSpec) -> list[str]:
    return list(dict.fromkeys([*spec.mapping, *spec.extra]))


def _flatten(obj: dict, prefix: str = "") -> dict:
    """Nested objects also as dotted keys (``via.channel``), beside the object itself."""
    out = {}
    for k, v in obj.items():
        key = f"{prefix}{k}"
        out[key] = v
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
    return out


def _finish(spec: FileSpec, df: pd.DataFrame) -> pd.DataFrame:
    """Contract names, contract columns, defaulted and absent optional ones; extras as ``src::name``."""
    by_contract = {dst: src for src, dst in spec.mapping.items()}
    cols = column_types(spec.entity)
    out = {}
    n = len(df)
    for col in cols:
        if col in by_contract and by_contract[col] in df.columns:
            out[col] = df[by_contract[col]]
        elif col in DEFAULTS[spec.entity]:
            out[col] = pd.Series([DEFAULTS[spec.entity][col]] * n, index=df.index, dtype="str")
        else:
            out[col] = pd.Series([None] * n, index=df.index, dtype="str")
    for name in spec.extra:
        out[EXTRA + name] = df[name] if name in df.columns else pd.Series([None] * n, index=df.index, dtype="str")
    return pd.DataFrame(out, index=df.index)


def iter_chunks(spec: FileSpec, chunk_rows: int = CHUNK_ROWS) -> Iterator[RawChunk]:
    if spec.source is not None and spec.source.thread is not None:
        yield from _iter_threaded(spec, chunk_rows)
    else:
        yield from _iter_plain(spec, chunk_rows)


def _iter_threaded(spec: FileSpec, chunk_rows: int) -> Iterator[RawChunk]:
    """A one-row-per-message log: each message's ``interaction_id`` is its conversation (``thread.by``)
    or the first message of its reply chain (``thread.reply_to``, read in a first pass over the file)."""
    th = spec.source.thread  # type: ignore[union-attr]
    if th.by is not None:
        for chunk in _iter_plain(spec, chunk_rows):
            chunk.frame["interaction_id"] = chunk.frame[EXTRA + th.by].str.strip()
            yield chunk
        return
    parent: dict[str, str | None] = {}
    for chunk in _iter_plain(spec, chunk_rows):
        ids = chunk.frame["message_id"].str.strip()
        parents = chunk.frame[EXTRA + th.reply_to].str.strip()
        for i, p in zip(ids.tolist(), parents.tolist(), strict=True):
            if isinstance(i, str) and i:
                parent[i] = p if isinstance(p, str) and p else None
    roots: dict[str, str] = {}

    def root(i: str) -> str:
        chain = []
        cur = i
        while cur not in roots:
            chain.append(cur)
            p = parent.get(cur)
            if p is None or p not in parent or p in chain:  # the start, a parent not in the file, or a loop
                roots[cur] = cur
                break
            cur = p
        r = roots[cur]
        for c in chain:
            roots[c] = r
        return r

    for chunk in _iter_plain(spec, chunk_rows):
        ids = chunk.frame["message_id"].str.strip()
        chunk.frame["interaction_id"] = ids.map(lambda i: root(i) if isinstance(i, str) and i else None,
                                                na_action="ignore").astype(ids.dtype)
        yield chunk


def _iter_plain(spec: FileSpec, chunk_rows: int) -> Iterator[RawChunk]:
    try:
        if spec.fmt == "csv":
            yield from _iter_csv(spec, chunk_rows)
        elif spec.fmt == "jsonl":
            yield from _iter_jsonl(spec, chunk_rows)
        else:
            yield from _iter_parquet(spec, chunk_rows)
    except UnicodeDecodeError as e:
        raise InputFileError(
            f"{spec.path.name}: invalid {spec.encoding} byte sequence near byte {e.start}; "
            "the file mixes encodings or is not text"
        ) from e
    except pa.ArrowInvalid as e:
        msg = str(e)
        if "UTF8" in msg or "utf8" in msg.lower():
            msg = f"invalid {spec.encoding} text in the file ({msg})"
        elif "straddling" in msg or "block" in msg:
            msg = f"a record is too long to read (over about {2 * BLOCK_BYTES >> 20} MiB) ({msg})"
        raise InputFileError(f"{spec.path.name}: {msg}") from e


def _numbering(start: int, count: int, skipped: set[int]) -> tuple[np.ndarray, int]:
    """Assign ``count`` record numbers from ``start`` upward, jumping over malformed records."""
    nums = []
    n = start
    if not skipped:
        return np.arange(start, start + count, dtype=np.int64), start + count
    while len(nums) < count:
        if n not in skipped:
            nums.append(n)
        n += 1
    return np.asarray(nums, dtype=np.int64), n


def _iter_csv(spec: FileSpec, chunk_rows: int) -> Iterator[RawChunk]:
    """The CSV's chunks. A record that does not split into the header's columns is quarantined by ``on_invalid``;
    when its bytes are not valid text either, pyarrow fails to decode it before calling the handler, prints the
    error as "Exception ignored" (a traceback on stderr) and stops with a bare parse error: that case is caught
    here and rejects the file with the record's number instead."""
    undecodable: list[BaseException] = []
    previous = sys.unraisablehook

    def hook(unraisable) -> None:
        if isinstance(unraisable.exc_value, UnicodeDecodeError) and \
                getattr(unraisable.object, "__name__", "") == "on_invalid":
            undecodable.append(unraisable.exc_value)
        else:
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield from _csv_chunks(spec, chunk_rows)
    except pa.ArrowInvalid as e:
        row = re.search(r"Row #(\d+)", str(e))
        if undecodable and row:
            raise InputFileError(
                f"{spec.path.name}: record {int(row.group(1)) - 1} is not valid {spec.encoding} text and does not "
                f"split into the header's {len(spec.header)} columns; the file mixes encodings or is not text"
            ) from e
        raise
    finally:
        sys.unraisablehook = previous


def _csv_chunks(spec: FileSpec, chunk_rows: int) -> Iterator[RawChunk]:
    malformed: list[tuple[int, str, str]] = []

    def on_invalid(row) -> str:
        number = (row.number or 0) - 1  # pyarrow counts the header as record 1
        try:
            text = row.text[:2000]
        except UnicodeDecodeError:  # the record is not valid text either: keep what can be shown
            text = "(undecodable bytes)"
        malformed.append(
            (number, f"field_count (expected {row.expected_columns}, got {row.actual_columns})", text)
        )
        return "skip"

    enc = "utf8" if spec.encoding in ("utf-8", "utf-8-sig") else spec.encoding
    read_opts = pacsv.ReadOptions(
        encoding=enc, block_size=BLOCK_BYTES, use_threads=False, column_names=spec.header, skip_rows=1,
    )
    parse_opts = pacsv.ParseOptions(
        delimiter=spec.delimiter or ",", newlines_in_values=True, invalid_row_handler=on_invalid,
    )
    conv_opts = pacsv.ConvertOptions(
        column_types={h: pa.string() for h in spec.header},
        strings_can_be_null=False, quoted_strings_can_be_null=False,
        include_columns=_read_columns(spec),
    )
    try:
        reader = pacsv.open_csv(spec.path, read_options=read_opts, parse_options=parse_opts,
                                convert_options=conv_opts)
    except pa.ArrowInvalid as e:
        if "Could not skip initial" in str(e):  # the header alone, without a line end: no data rows
            return
        raise
    next_no = 1
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    seen_malformed = 0

    def flush(rows: int) -> RawChunk:  # the first ``rows`` pending rows (every malformed record read so far)
        nonlocal next_no, seen_malformed, pending, pending_rows
        table = pa.Table.from_batches(pending, schema=reader.schema)
        pending = table.slice(rows).to_batches() if rows < table.num_rows else []
        pending_rows = table.num_rows - min(rows, table.num_rows)
        # the chunk's own rows, copied out of the blocks they came from (6-45 ms per 100,000 interactions, 26 MiB,
        # on the 1M benchmark file): a slice would keep its whole block alive while the chunk waits for or goes
        # through validation
        table = pa.table({name: pa.concat_arrays(col.chunks) if col.num_chunks else col
                          for name, col in zip(table.column_names, table.slice(0, rows).columns, strict=True)})
        new_bad = malformed[seen_malformed:]
        seen_malformed = len(malformed)
        skipped = {m[0] for m in malformed}
        nums, next_no = _numbering(next_no, table.num_rows, skipped)
        df = table.to_pandas(types_mapper=_str_mapper)
        return RawChunk(_finish(spec, df), nums, new_bad)

    for batch in reader:
        pending.append(batch)
        pending_rows += batch.num_rows
        while pending_rows >= chunk_rows:
            yield flush(chunk_rows)
    if pending_rows or malformed[seen_malformed:]:
        yield flush(pending_rows)


def _str_mapper(t: pa.DataType):
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pd.StringDtype("pyarrow", na_value=np.nan)
    return None


def _iter_jsonl(spec: FileSpec, chunk_rows: int) -> Iterator[RawChunk]:
    keep = _read_columns(spec)
    with spec.path.open("r", encoding=spec.encoding, newline="") as fh:
        records: list[dict] = []
        numbers: list[int] = []
        malformed: list[tuple[int, str, str]] = []
        no = 0
        for line in _split_lines(fh):
            if not line.strip():
                continue
            no += 1
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                malformed.append((no, f"json_parse ({e.msg})", line[:2000]))
                continue
            if not isinstance(obj, dict):
                malformed.append((no, "json_object (the line is not a JSON object)", line[:2000]))
                continue
            obj = _flatten(obj)
            records.append({k: _jsonl_text(obj.get(k)) for k in keep})
            numbers.append(no)
            if len(records) >= chunk_rows:
                yield _jsonl_chunk(spec, records, numbers, malformed)
                records, numbers, malformed = [], [], []
        if records or malformed:
            yield _jsonl_chunk(spec, records, numbers, malformed)


def _split_lines(fh: io.TextIOBase) -> Iterator[str]:
    # JSON escapes newlines inside strings, so a bare \r or \n always ends a record
    for line in fh:
        yield from (part for part in line.replace("\r\n", "\n").split("\r") if part is not None)


def _jsonl_text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v != v:  # NaN
        return None
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _jsonl_chunk(spec: FileSpec, records: list[dict], numbers: list[int], malformed) -> RawChunk:
    df = pd.DataFrame.from_records(records, columns=_read_columns(spec)) if records else pd.DataFrame(
        columns=_read_columns(spec)
    )
    df = df.astype(pd.StringDtype("pyarrow", na_value=np.nan))
    return RawChunk(_finish(spec, df), np.asarray(numbers, dtype=np.int64), malformed)


def _iter_parquet(spec: FileSpec, chunk_rows: int) -> Iterator[RawChunk]:
    pf = pq.ParquetFile(spec.path)
    next_no = 1
    for batch in pf.iter_batches(batch_size=chunk_rows, columns=_read_columns(spec)):
        cols = {}
        for name, arr in zip(batch.schema.names, batch.columns, strict=True):
            if pa.types.is_timestamp(arr.type):
                cols[name] = arr.to_pandas()
            elif pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
                cols[name] = arr.to_pandas(types_mapper=_str_mapper)
            else:
                s = arr.to_pandas()
                text = s.map(_jsonl_text, na_action="ignore")
                cols[name] = text.astype(pd.StringDtype("pyarrow", na_value=np.nan))
        df = pd.DataFrame(cols)
        n = len(df)
        yield RawChunk(_finish(spec, df), np.arange(next_no, next_no + n, dtype=np.int64), [])
        next_no += n
