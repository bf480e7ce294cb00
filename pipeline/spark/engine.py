"""``csqa spark load``: the DuckDB load's contract and upsert rule, run on Spark, written to a Parquet lake.

One contract, two engines: each Spark task runs the very functions ``csqa load`` runs
(:func:`csqa.pipeline.ingest.read.iter_chunks`, :func:`csqa.pipeline.ingest.validate.validate_chunk`: parsing,
redaction, pseudonymisation, the pandera contract and the quarantine records with their check names
and reasons) inside ``DataFrame.mapInPandas``. The unit of parallelism is the input file: a lake
holds many files, and a task reads one file in chunks. The upsert (natural key, newest ``updated_at``
wins, ties to the later file and record, a tie with a stored row keeps the stored row) runs in Spark.

Lake layout (``--lake DIR``)::

    DIR/raw/<entity>/created_day=YYYY-MM-DD/part-*.parquet     validated rows, microsecond timestamps
    DIR/quarantine/batch_id=N/part-*.parquet                   one row per failed check (audit.quarantine)
    DIR/audit/load_batches/batch-NNNNNN.parquet                 one row per file of batch N; written last

A batch is committed when its audit file exists. Each raw table is rewritten whole into a new folder
and swapped in (local file systems; see docs/SCALE.md for the limits).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..config import Config
from ..errors import InputFileError, UsageError
from ..ingest.contract import FUTURE_CHECKED, KEYS, column_types, future_limit
from ..ingest.load import FileResult, LoadSummary, checked_key, conflict_note, empty_file, expand_paths
from ..ingest.privacy import key_fingerprint
from ..ingest.read import inspect, iter_chunks, sha256_of
from ..ingest.validate import QUARANTINE_COLUMNS, validate_chunk
from ..ops.lake import PARTITION_BY, lake_fingerprint, write_fingerprint
from . import PANDAS3_WARNING as _PANDAS3_WARNING

log = logging.getLogger(__name__)

_SPARK_TYPE = {"str": T.StringType(), "ts": T.TimestampType(), "bool": T.BooleanType(), "int": T.LongType()}


def session(master: str | None = None, app: str = "csqa") -> SparkSession:
    """A SparkSession in UTC writing microsecond Parquet timestamps; executors use this interpreter.

    ``master`` None: spark-submit's master when run under spark-submit (its JVM is already up), else
    ``local[2]``."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    warnings.filterwarnings("ignore", message=_PANDAS3_WARNING, category=FutureWarning)
    builder = SparkSession.builder
    if master or not os.environ.get("PYSPARK_GATEWAY_PORT"):
        builder = builder.master(master or "local[2]")
    spark = (
        builder.appName(app)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.executorEnv.PYTHONWARNINGS", f"ignore:{_PANDAS3_WARNING}:FutureWarning")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def entity_columns(entity: str) -> list[str]:
    """The columns a raw table holds besides the lineage ones (_batch_id, _source_file, _row_number)."""
    cols = list(column_types(entity))
    if entity == "csat_surveys":
        cols.append("updated_at")  # coalesce(responded_at, sent_at), as in raw.csat_surveys
    return [*cols, "topic_label"] if entity == "interactions" else cols


def _out_schema(entity: str) -> T.StructType:
    kinds = column_types(entity)
    kinds = {**kinds, "updated_at": "ts", "topic_label": "str"}
    fields = [T.StructField(c, _SPARK_TYPE[kinds[c]]) for c in entity_columns(entity)]
    fields += [
        T.StructField("_kind", T.StringType()),  # good | quarantine | file
        T.StructField("_file_seq", T.IntegerType()),
        T.StructField("_row_number", T.LongType()),
        T.StructField("q_row_number", T.LongType()),
        T.StructField("column_name", T.StringType()),
        T.StructField("check_name", T.StringType()),
        T.StructField("failing_value", T.StringType()),
        T.StructField("raw_row", T.StringType()),
        T.StructField("rows_read", T.LongType()),
        T.StructField("rows_bad", T.LongType()),
        T.StructField("error", T.StringType()),
        T.StructField("notes", T.StringType()),
    ]
    return T.StructType(fields)


def _validate_files(batches, *, entity: str, config: Config, key: bytes | None, names: list[str]):
    """Executor side: each (file_seq, path) read in chunks and validated exactly as ``csqa load`` does."""
    def frame(data: dict, n: int) -> pd.DataFrame:
        return pd.DataFrame({c: data.get(c, pd.Series([None] * n, dtype="object")) for c in names})

    for files in batches:
        for seq, path in zip(files["_file_seq"], files["path"], strict=True):
            rows_read = rows_bad = 0
            spec = None
            try:
                spec = inspect(Path(path), config)
                if spec.source is not None and (spec.source.thread is not None or spec.source.survey is not None):
                    raise InputFileError(f"{Path(path).name}: threaded logs and rating columns are not yet "
                                         "supported by csqa spark load; load this source with csqa load")
                for chunk in iter_chunks(spec):
                    v = validate_chunk(spec, chunk, config, key)
                    rows_read += v.rows_read
                    rows_bad += v.rows_bad
                    good = v.good
                    if entity == "csat_surveys":
                        good["updated_at"] = good["responded_at"].fillna(good["sent_at"])
                    if len(good):
                        data = {c: good[c] for c in good.columns if c in names}
                        data["_kind"] = pd.Series(["good"] * len(good))
                        data["_file_seq"] = pd.Series([int(seq)] * len(good), dtype="int32")
                        yield frame(data, len(good))
                    if len(v.failures):
                        q = v.failures
                        data = {"_kind": pd.Series(["quarantine"] * len(q)),
                                "_file_seq": pd.Series([int(seq)] * len(q), dtype="int32"),
                                "q_row_number": q["row_number"].astype("int64").reset_index(drop=True)}
                        for c in QUARANTINE_COLUMNS[1:]:
                            data[c] = q[c].astype("object").reset_index(drop=True)
                        yield frame(data, len(q))
                error = None
            except InputFileError as e:
                error = str(e)
            notes = "; ".join(spec.notes) if spec is not None and spec.notes else None
            yield frame({"_kind": pd.Series(["file"]), "_file_seq": pd.Series([int(seq)], dtype="int32"),
                         "rows_read": pd.Series([rows_read], dtype="int64"),
                         "rows_bad": pd.Series([rows_bad], dtype="int64"),
                         "error": pd.Series([error], dtype="object"),
                         "notes": pd.Series([notes], dtype="object")}, 1)


# --- the lake --------------------------------------------------------------------------------------


def raw_path(lake: Path, entity: str) -> Path:
    return lake / "raw" / entity


def _audit_dir(lake: Path) -> Path:
    return lake / "audit" / "load_batches"


def read_audit(lake: Path) -> pd.DataFrame:
    d = _audit_dir(lake)
    files = sorted(d.glob("batch-*.parquet")) if d.is_dir() else []
    if not files:
        return pd.DataFrame(columns=["batch_id", "sha256", "status"])
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def _read_raw(spark: SparkSession, lake: Path, entity: str) -> DataFrame | None:
    p = raw_path(lake, entity)
    if not p.is_dir() or not any(p.glob("created_day=*")):
        return None
    return spark.read.parquet(str(p)).drop("created_day")


def _swap(new: Path, final: Path) -> None:
    old = final.with_name(final.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        final.rename(old)
    new.rename(final)
    if old.exists():
        shutil.rmtree(old)


# --- the load --------------------------------------------------------------------------------------


def _winners(staged: DataFrame, stored: DataFrame | None, entity: str, force: bool) -> DataFrame:
    """``load._upsert``'s rule: per key the newest staged row (ties to the later file and record) that is
    newer than the stored one (or, for immutable messages, whose key is not stored)."""
    key, order = KEYS[entity]
    if order is None:
        w = Window.partitionBy(key).orderBy(F.col("_file_seq").asc(), F.col("_row_number").asc())
    else:
        w = Window.partitionBy(key).orderBy(F.col(order).desc(), F.col("_file_seq").desc(),
                                            F.col("_row_number").desc())
    best = staged.withColumn("_rn", F.row_number().over(w)).where("_rn = 1").drop("_rn")
    if stored is None:
        return best
    if order is None:
        return best.join(stored.select(key), key, "left_anti")
    s = stored.select(F.col(key), F.col(order).alias("_stored_order"))
    # a staged row is kept out where the stored one is newer (or as new, unless forced)
    stored_wins = (F.col("_stored_order") > F.col(order)) if force else (F.col("_stored_order") >= F.col(order))
    if entity in FUTURE_CHECKED:  # a stored row dated past the clock is replaced (load._not_future)
        stored_wins = stored_wins & (F.col("_stored_order") <= F.lit(future_limit().to_pydatetime()))
    blocked = best.join(s, key).where(stored_wins).select(key)
    return best.join(blocked, key, "left_anti")


def _conflicts(staged: DataFrame, stored: DataFrame | None, entity: str) -> dict[int, int]:
    """``load._conflicts``: per staged file, the keys whose newest staged version ties with the stored row's
    ``updated_at`` (the stored row stays) but differs from it in a stored column not starting with ``_``; a key is
    the latest such file's."""
    key, order = KEYS[entity]
    if order is None or stored is None:
        return {}
    cols = [c for c in stored.columns if not c.startswith("_") and c in staged.columns]
    newest = staged.groupBy(key).agg(F.max(order).alias("_newest"))
    latest = staged.join(newest, key).where(F.col(order) == F.col("_newest"))
    r = stored.select(*(F.col(c).alias(f"_r_{c}") for c in cols))
    tied = latest.join(r, (F.col(key) == F.col(f"_r_{key}")) & (F.col(order) == F.col(f"_r_{order}")))
    differs = functools.reduce(lambda a, b: a | b, (~F.col(c).eqNullSafe(F.col(f"_r_{c}")) for c in cols))
    per_key = tied.where(differs).groupBy(key).agg(F.max("_file_seq").alias("_seq"))
    return {int(seq): int(n) for seq, n in per_key.groupBy("_seq").count().collect()}


def _micros(us: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(us))


def _cross_entity_checks(spark: SparkSession, lake: Path, staged: dict, quarantine: list, by_seq: dict,
                         specs: dict) -> None:
    """``load._cross_entity_checks`` on Spark: ``message_key_conflict`` and ``survey_not_before_creation``,
    with the same columns, check names and failing values. The bad rows are few: they are collected."""
    def label(seq: int, col: str) -> str:
        spec = specs.get(seq)
        return spec.label(col) if spec is not None else col

    rows = []
    if "messages" in staged:
        s = staged["messages"].withColumn("_first", F.first("interaction_id").over(
            Window.partitionBy("message_id").orderBy("_file_seq", "_row_number")))
        stored = _read_raw(spark, lake, "messages")
        if stored is not None:
            s = s.join(stored.select("message_id", F.col("interaction_id").alias("_stored")), "message_id", "left")
        else:
            s = s.withColumn("_stored", F.lit(None).cast("string"))
        owner = F.coalesce(F.col("_stored"), F.col("_first"))
        for r in s.where(F.col("interaction_id") != owner).select(
                "_file_seq", "_row_number", "message_id", "interaction_id", owner.alias("owner")).collect():
            rows.append((r[0], r[1], "messages", label(r[0], "message_id"), "message_key_conflict",
                         f"{r[2]} (already under interaction {r[4]}, here under {r[3]})"))
    if "csat_surveys" in staged:
        parts = [f.select("interaction_id", "created_at") for f in
                 (staged.get("interactions"), _read_raw(spark, lake, "interactions")) if f is not None]
        if parts:
            known = functools.reduce(DataFrame.unionByName, parts).groupBy("interaction_id").agg(
                F.min("created_at").alias("_created"))
            bad = staged["csat_surveys"].join(known, "interaction_id").where(F.col("sent_at") < F.col("_created"))
            for r in bad.select("_file_seq", "_row_number", F.unix_micros("sent_at"),
                                F.unix_micros("_created")).collect():
                sent, created = _micros(r[2]), _micros(r[3])
                rows.append((r[0], r[1], "csat_surveys", f"{label(r[0], 'sent_at')},created_at (interaction)",
                             "survey_not_before_creation",
                             f"{label(r[0], 'sent_at')}={sent.isoformat()}; created_at={created.isoformat()}"))
    if not rows:
        return
    schema = "_file_seq int, _row_number long, entity string, column_name string, check_name string, " \
             "failing_value string"
    xbad = spark.createDataFrame(rows, schema)
    for entity in ("messages", "csat_surveys"):
        bad = xbad.where(F.col("entity") == entity).drop("entity")
        if entity not in staged or not any(r[2] == entity for r in rows):
            continue
        frame = staged[entity]
        raw = frame.select("_file_seq", "_row_number", F.to_json(F.struct(*frame.columns)).alias("raw_row"))
        quarantine.append(bad.join(raw, ["_file_seq", "_row_number"]).select(
            F.lit(entity).alias("entity"), "_file_seq", F.col("_row_number").alias("row_number"),
            "column_name", "check_name", "failing_value", "raw_row"))
        staged[entity] = frame.join(bad.select("_file_seq", "_row_number"), ["_file_seq", "_row_number"],
                                    "left_anti")
    for seq in {r[0] for r in rows}:
        if seq in by_seq:
            by_seq[seq].rows_quarantined += len({r[1] for r in rows if r[0] == seq})


def load(paths: list[str | Path], lake: str | Path, config: Config, *, master: str | None = None,
         force: bool = False, spark: SparkSession | None = None) -> LoadSummary:
    t0 = time.perf_counter()
    lake = Path(lake)
    files = expand_paths(paths)
    if not files:
        raise UsageError(f"no input files found in {', '.join(map(str, paths))}")
    if lake.exists() and not lake.is_dir():
        raise UsageError(f"{lake}: --lake must be a folder")
    lake.mkdir(parents=True, exist_ok=True)
    # the lake's key, checked as a warehouse's is (load._warehouse_key): another key or none is refused
    stored_fingerprint = lake_fingerprint(lake)
    key = checked_key(stored_fingerprint, lake / "lake", config, "lake") \
        if config.privacy.pseudonymise_customer_id else None
    spark = spark or session(master)
    audit = read_audit(lake)
    # (a file of no rows is never "already loaded", as in load._load_staged)
    loaded_shas = set(audit.loc[(audit["status"] == "loaded") & (audit.get("rows_read", 1) > 0), "sha256"].dropna())
    batch_id = int(audit["batch_id"].max()) + 1 if len(audit) else 1

    results: list[FileResult] = []
    by_entity: dict[str, list[tuple[int, str]]] = {}
    by_seq: dict[int, FileResult] = {}
    batch_shas: set[str] = set()
    specs: dict = {}
    for seq, path in enumerate(files, start=1):
        res = FileResult(source_file=str(path), status="loaded", started_at=dt.datetime.now(dt.UTC))
        results.append(res)
        try:
            res.sha256 = sha256_of(path)
        except OSError as e:
            res.status, res.error = "rejected", f"{path.name}: cannot read ({e})"
            continue
        if empty_file(res, path, config):
            continue
        if res.sha256 in batch_shas or (res.sha256 in loaded_shas and not force):
            res.status = "skipped"
            res.notes.append("already loaded (same sha256); use --force to reload")
            continue
        batch_shas.add(res.sha256)
        try:
            specs[seq] = inspect(path, config)  # the header only; tasks read the file
            res.entity = specs[seq].entity
        except InputFileError as e:
            res.status, res.error = "rejected", str(e)
            continue
        by_entity.setdefault(res.entity, []).append((seq, str(path)))
        by_seq[seq] = res
    summary = LoadSummary(batch_id=None, db=str(lake), files=results)
    if not by_seq:
        # nothing to read: empty files and files rejected whole, recorded as DuckDB's load records them
        recorded = [r for r in results if r.status != "skipped"]
        if recorded:
            for r in recorded:
                r.finished_at = dt.datetime.now(dt.UTC)
            _write_audit(lake, batch_id, recorded)
            summary.batch_id = batch_id
        summary.seconds = time.perf_counter() - t0
        return summary

    staged: dict[str, DataFrame] = {}
    quarantine: list[DataFrame] = []
    for entity, entity_files in by_entity.items():
        schema = _out_schema(entity)
        fn = functools.partial(_validate_files, entity=entity, config=config, key=key, names=schema.names)
        listing = spark.createDataFrame(pd.DataFrame({"_file_seq": [s for s, _ in entity_files],
                                                      "path": [p for _, p in entity_files]}))
        out = listing.repartition(max(1, len(entity_files)), "_file_seq").mapInPandas(fn, schema).cache()
        stats = out.where("_kind = 'file'").select("_file_seq", "rows_read", "rows_bad", "error", "notes").collect()
        rejected = set()
        for row in stats:
            res = by_seq[row["_file_seq"]]
            res.notes.extend(n for n in (row["notes"] or "").split("; ") if n)
            if row["error"]:
                res.status, res.error = "rejected", row["error"]
                rejected.add(row["_file_seq"])
            else:
                res.rows_read, res.rows_quarantined = row["rows_read"], row["rows_bad"]
                if res.rows_read == 0:
                    res.notes.append("no data rows")
        keep = ~F.col("_file_seq").isin(list(rejected)) if rejected else F.lit(True)
        staged[entity] = out.where((F.col("_kind") == "good") & keep).select(
            *entity_columns(entity), "_file_seq", "_row_number")
        quarantine.append(out.where((F.col("_kind") == "quarantine") & keep).select(
            F.lit(entity).alias("entity"), "_file_seq", F.col("q_row_number").alias("row_number"),
            "column_name", "check_name", "failing_value", "raw_row"))

    specs = {seq: spec for seq, spec in specs.items() if seq in by_seq and by_seq[seq].status == "loaded"}
    _cross_entity_checks(spark, lake, staged, quarantine, by_seq, specs)
    source_files = spark.createDataFrame(pd.DataFrame({"_file_seq": list(by_seq),
                                                       "source_file": [r.source_file for r in by_seq.values()]}))
    for entity, frame in staged.items():
        stored = _read_raw(spark, lake, entity)
        winners = _winners(frame, stored, entity, force).join(source_files, "_file_seq").cache()
        counts = dict(winners.groupBy("_file_seq").count().collect())
        conflicts = {} if force else _conflicts(frame, stored, entity)
        for seq, res in by_seq.items():
            if res.status == "loaded" and res.entity == entity:
                res.rows_loaded = counts.get(seq, 0)
                res.rows_conflicting = conflicts.get(seq, 0)
                if res.rows_conflicting:
                    res.notes.append(conflict_note(res.rows_conflicting))
        key_col = KEYS[entity][0]
        new_rows = winners.select(*entity_columns(entity), F.lit(batch_id).cast("long").alias("_batch_id"),
                                  F.col("source_file").alias("_source_file"), "_row_number")
        table = new_rows if stored is None else stored.join(winners.select(key_col), key_col, "left_anti").unionByName(
            new_rows, allowMissingColumns=True)
        table = table.withColumn("created_day", F.to_date(PARTITION_BY[entity]))
        target = raw_path(lake, entity)
        tmp = target.with_name(target.name + f".batch{batch_id}")
        if tmp.exists():
            shutil.rmtree(tmp)
        table.write.partitionBy("created_day").parquet(str(tmp))
        _swap(tmp, target)
        winners.unpersist()

    for r in results:
        if r.status == "loaded":
            r.rows_duplicate = r.rows_read - r.rows_loaded - r.rows_quarantined
        r.finished_at = dt.datetime.now(dt.UTC)
    q = functools.reduce(DataFrame.unionByName, quarantine).join(source_files, "_file_seq")
    q.select("source_file", "entity", "row_number", "column_name", "check_name", "failing_value", "raw_row") \
        .write.mode("overwrite").parquet(str(lake / "quarantine" / f"batch_id={batch_id}"))
    if key is not None and stored_fingerprint is None:  # before the audit file that commits the batch
        write_fingerprint(lake, key_fingerprint(key))
    _write_audit(lake, batch_id, [r for r in results if r.status != "skipped"])
    summary.batch_id = batch_id
    summary.seconds = time.perf_counter() - t0
    return summary


def _write_audit(lake: Path, batch_id: int, results: list[FileResult]) -> None:
    d = _audit_dir(lake)
    d.mkdir(parents=True, exist_ok=True)
    rows = pd.DataFrame([{
        "batch_id": batch_id, "source_file": r.source_file, "sha256": r.sha256, "entity": r.entity,
        "started_at": r.started_at, "finished_at": r.finished_at, "status": r.status, "rows_read": r.rows_read,
        "rows_loaded": r.rows_loaded, "rows_quarantined": r.rows_quarantined, "rows_duplicate": r.rows_duplicate,
        "error": r.error, "notes": "; ".join(r.notes) or None} for r in results])
    for c in ("started_at", "finished_at"):
        rows[c] = pd.to_datetime(rows[c], utc=True).astype("datetime64[us, UTC]")
    # audit.load_batches' types in every file (a column of None alone was written as Parquet's null type, and a
    # later file's text then could not be read beside it: every query of error or notes failed)
    rows = rows.astype({"source_file": "string", "sha256": "string", "entity": "string", "status": "string",
                        "error": "string", "notes": "string", "batch_id": "int64", "rows_read": "int64",
                        "rows_loaded": "int64", "rows_quarantined": "int64", "rows_duplicate": "int64"})
    tmp = d / f".batch-{batch_id:06d}.parquet.tmp"
    rows.to_parquet(tmp, index=False)
    tmp.replace(d / f"batch-{batch_id:06d}.parquet")
