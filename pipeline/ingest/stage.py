"""A batch's staged rows: every file's validated rows, kept as Parquet files in a folder until the batch's
transaction has read them, and seen by SQL as the views ``stage_<entity>``.

Before, each validated chunk was inserted into a DuckDB temporary table: a copy of every value into DuckDB's
storage (2.4-3.3 s of a 1M-row load, on the loading thread), and the staged rows then stayed in DuckDB's memory
until the commit (320 MiB for 1M interactions, read from ``duckdb_memory()``), which left the marts' refresh that
much less of the memory limit (docs/BENCHMARKS.md, "ninth session"). Now a chunk is written as it is, its Arrow
buffers to a plain Parquet file (no dictionaries, no compression: 0.07 s per 100,000 interactions, against 0.12-0.15
with either), and DuckDB reads the files, under its own memory limit, where the batch's SQL reads ``stage_<entity>``
(the upsert's ranking and insert, the cross-file checks, a dry run's comparison).

- A load stages in ``<warehouse>.stage/`` (beside the file, as DuckDB's own ``.wal``): made when the load starts,
  removed when it ends. Only the writer, under the warehouse's writer lock, stages there, so staged files found at
  the start are a killed load's and are deleted then. Only the ``*.staged`` files are ever deleted: the folder may
  be a link to another disk, which stays (one per warehouse: two warehouses' loads would delete each other's files).
  A dry run stages in its own temporary folder.
- A chunk takes the stage's columns (the raw table's, less the batch's own, plus ``_file_seq``), in their order:
  cast in Arrow where a column casts safely (the validated chunks: Arrow strings, UTC timestamps, integers), else
  through DuckDB's cast, as the ``insert ... by name`` into a staging table did (a missing column is NULL).
- Rows the cross-file checks quarantine stay in the files: they are listed in the temporary table
  ``stage_removed``, which the views leave out. A file rejected part-way has its staged files deleted.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import WarehouseError
from .contract import MODELS

# not a suffix `csqa load` reads (read.SUPPORTED_SUFFIXES): a killed load's folder inside a folder being loaded is
# never taken for input (DuckDB's read_parquet does not look at the name)
SUFFIX = ".staged"


def folder_for(db: str | Path) -> Path:
    """Where a load of ``db`` stages its batch."""
    return Path(str(db) + ".stage")


def _as_arrow(frame):
    """A validated chunk as an Arrow table (pandas' Arrow-backed text converts without a copy), or the frame itself
    when a column does not convert to Arrow."""
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return frame


class Stage:
    """The staged rows of one batch (one ``csqa load`` or dry run) on the connection ``con``."""

    def __init__(self, con: duckdb.DuckDBPyConnection, folder: Path) -> None:
        self.con = con
        self.folder = Path(folder)
        if (self.folder.exists() or self.folder.is_symlink()) and not self.folder.is_dir():
            raise WarehouseError(f"{self.folder} is in the way: a load stages its batch in a folder of that name, and "
                                 "this is a file or a link to nothing; move it away and run the load again "
                                 "(nothing was written).")
        try:
            _empty(self.folder)  # a killed load's files (a dry run's folder is new)
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise _cannot_stage(self.folder, e) from e
        self.parts: dict[str, list[tuple[int, Path]]] = {entity: [] for entity in MODELS}
        self.columns: dict[str, list[tuple[str, str]]] = {}  # each entity's stage columns and DuckDB types
        self.schemas: dict[str, pa.Schema] = {}  # ... and as Arrow
        self._written = 0
        # per entity and staged file: the rows that tie a stored version's updated_at and differ from it (load._upsert)
        self.conflicts: dict[str, dict[int, int]] = {}
        con.execute(
            "create or replace temp table stage_quarantine as "
            "select * exclude (batch_id, source_file), 0::integer as _file_seq from audit.quarantine limit 0"
        )
        con.execute("create or replace temp table batch_files (_file_seq integer, source_file varchar)")
        con.execute("create or replace temp table stage_removed "
                    "(entity varchar, _file_seq integer, _row_number bigint)")
        for entity in MODELS:
            con.execute(f"create or replace temp table _stage_empty_{entity} as "
                        f"select * exclude (_batch_id, _source_file), 0::integer as _file_seq "
                        f"from raw.{entity} limit 0")
            empty = con.sql(f"select * from _stage_empty_{entity}")
            self.columns[entity] = [(c, str(t)) for c, t in zip(empty.columns, empty.types, strict=True)]
            # text as large_string: pandas' Arrow strings are (no copy), and no 2 GiB limit on a chunk's text
            self.schemas[entity] = pa.schema([pa.field(f.name, pa.large_string()) if pa.types.is_string(f.type)
                                              else f for f in empty.to_arrow_table().schema])
            self._expose(entity)

    def _expose(self, entity: str) -> None:
        files = ", ".join("'" + str(p).replace("'", "''") + "'" for _, p in self.parts[entity])
        source = f"read_parquet([{files}])" if files else f"_stage_empty_{entity}"
        self.con.execute(
            f"""create or replace temp view stage_{entity} as
                select * from {source}
                anti join (select _file_seq, _row_number from stage_removed where entity = '{entity}')
                    using (_file_seq, _row_number)""")

    def append(self, entity: str, seq: int, frame) -> int:
        """Stage a chunk (a pandas frame) of file ``seq``; returns its rows."""
        table = self._conform(entity, _as_arrow(frame))
        if not table.num_rows:
            return 0
        self._written += 1
        path = self.folder / f"{entity}-{seq}-{self._written}{SUFFIX}"
        # plain Parquet: the quickest to write (0.07 s per 100,000 interactions against 0.12-0.15 with dictionaries
        # or compression), and read once
        try:
            pq.write_table(table, str(path), compression="none", use_dictionary=False, write_statistics=False)
        except OSError as e:  # a full disk, a folder made read-only meanwhile
            raise _cannot_stage(self.folder, e) from e
        self.parts[entity].append((seq, path))
        self._expose(entity)
        return table.num_rows

    def _conform(self, entity: str, chunk) -> pa.Table:
        """The chunk with the stage's columns, in order: cast in Arrow when every column is of its stage column's
        kind already (text, integer, boolean, timestamp, float: a cast that only changes width or time zone
        name), else by DuckDB, as an ``insert ... by name`` casts; NULL where the chunk lacks a column. A column
        the stage does not have is an error, as it was for the insert."""
        schema = self.schemas[entity]
        names = chunk.column_names if isinstance(chunk, pa.Table) else [str(c) for c in chunk.columns]
        extra = sorted(set(names) - set(schema.names))
        if extra:
            raise ValueError(f"staging {entity}: no such column in raw.{entity}: {', '.join(extra)}")
        if isinstance(chunk, pa.Table) and all(_same_kind(chunk.schema.field(f.name).type, f.type)
                                               for f in schema if f.name in names):
            try:
                return pa.table([chunk[f.name].cast(f.type, safe=True) if f.name in names
                                 else pa.nulls(chunk.num_rows, f.type) for f in schema], schema=schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass  # e.g. an integer too wide for its column: DuckDB's cast (and its error)
        self.con.register("_stage_chunk", chunk)
        try:
            select = ", ".join(f'cast("{c}" as {t}) as "{c}"' if c in names else f'null::{t} as "{c}"'
                               for c, t in self.columns[entity])
            table = self.con.sql(f"select {select} from _stage_chunk").to_arrow_table()
        finally:
            self.con.unregister("_stage_chunk")
        return table.cast(schema)

    def spill(self, name: str, sql: str) -> str:
        """Write a query's rows to the Parquet file ``<name>.staged`` in the stage's folder; returns SQL that reads
        them. For what the load's transaction needs until its end but should not hold in DuckDB's memory: a
        temporary table made there is freed only at the commit (the upsert's winners: 46 MiB per 1M rows staged,
        read from ``duckdb_memory()``, held through the whole refresh; 13 MiB of temporary tables are left)."""
        path = str(self.folder / f"{name}{SUFFIX}").replace("'", "''")
        try:
            self.con.execute(f"copy ({sql}) to '{path}' (format parquet, compression uncompressed)")
        except duckdb.IOException as e:  # a full disk: the same message as for the staged rows
            raise _cannot_stage(self.folder, e) from e
        return f"read_parquet('{path}')"

    def drop_file(self, seq: int) -> None:
        """Unstage every row of file ``seq`` (a file rejected after some of its chunks were staged)."""
        for entity, parts in self.parts.items():
            keep = [(s, p) for s, p in parts if s != seq]
            if len(keep) == len(parts):
                continue
            for s, p in parts:
                if s == seq:
                    p.unlink(missing_ok=True)
            self.parts[entity] = keep
            self._expose(entity)
        self.con.execute("delete from stage_quarantine where _file_seq = ?", [seq])

    def remove(self, entity: str, rows_sql: str) -> None:
        """Leave out of ``stage_<entity>`` the rows ``rows_sql`` selects (as ``_file_seq, _row_number``)."""
        self.con.execute(f"insert into stage_removed select '{entity}', * from ({rows_sql})")

    def rows(self, entity: str) -> int:
        """The staged rows of ``entity`` that are left (none staged: no query)."""
        if not self.parts[entity]:
            return 0
        return self.con.execute(f"select count(*) from stage_{entity}").fetchall()[0][0]

    def close(self) -> None:
        """Forget the staged files and delete them (the connection may be gone already)."""
        try:
            for entity in MODELS:
                self.parts[entity] = []
                try:
                    self.con.execute(f"drop view if exists stage_{entity}")
                except duckdb.Error:  # the connection is closed
                    pass
        finally:  # the files go even when that is interrupted (DuckDB's "Query interrupted" is no duckdb.Error)
            try:
                _empty(self.folder)
                if not self.folder.is_symlink():
                    self.folder.rmdir()  # not when it holds something else: only the staged files are the load's
            except OSError:
                pass  # nothing the load can do now; the next load removes what is left


_KINDS = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view), (pa.types.is_integer,), \
    (pa.types.is_boolean,), (pa.types.is_timestamp,), (pa.types.is_floating,)


def _same_kind(source: pa.DataType, target: pa.DataType) -> bool:
    """Whether an Arrow cast of ``source`` to ``target`` only changes width or time-zone name (a column of NULLs
    casts to anything): Arrow and DuckDB agree on those; between kinds (a number to text) they write other text."""
    if pa.types.is_null(source):
        return True
    return any(any(t(source) for t in kind) and any(t(target) for t in kind) for kind in _KINDS)


def _empty(folder: Path) -> None:
    """Delete the staged files in a stage folder, and nothing else (it may be a link to a folder on another disk)."""
    if folder.is_dir():
        for p in folder.glob(f"*{SUFFIX}"):
            p.unlink()


def _cannot_stage(folder: Path, e: Exception) -> WarehouseError:
    reason = getattr(e, "strerror", None) or e
    return WarehouseError(f"cannot stage the batch in {folder}: {reason}. A load writes its validated rows there "
                          "until its transaction has read them, about as much as its files hold; free that much "
                          "disk or make the folder writable, and run it again (nothing was written).")
