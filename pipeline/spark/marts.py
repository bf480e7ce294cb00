"""``csqa spark refresh``: the staging views and marts of ``sql/``, built on Spark from the lake's raw tables.

The same files the DuckDB refresh runs (``sql/staging``, ``sql/marts``, in file order) are transpiled by
:mod:`csqa.pipeline.spark.dialect`; the settings, SLA targets, status classes, duration buckets and the
business calendar come from the same Python functions as DuckDB's (:mod:`csqa.pipeline.model.marts`,
:func:`csqa.pipeline.model.business_time.calendar_frame`). The FAQ model is the same Python model:

- fitted on the driver, from the same inputs the DuckDB refresh selects (published articles, a sample of
  tagged questions, a sample of 20,000 distinct questions: those samples are drawn by DuckDB's hash, so
  the driver runs the very selection queries in an in-memory DuckDB over the distinct rows Spark collects);
- applied on the executors with ``mapInPandas`` over the distinct (question, FAQ language) pairs (the
  fitted model is shipped to each task), joined back to the interactions in Spark;
- the clusters of untagged questions (one window, ``faq.window_days``) run on the driver, as in DuckDB.

This slice rebuilds every mart at each refresh (no incremental scope). Each mart is written to
``LAKE/marts/<table>/`` (Parquet, microsecond timestamps) in a new folder swapped in whole, so a rerun
gives the same tables; the configuration-derived tables DuckDB keeps in ``staging`` go to
``LAKE/staging/<table>/`` for readers (``csqa sql --lake``, ``csqa dashboard --lake``).
"""

from __future__ import annotations

import functools
import logging
import shutil
import time
from pathlib import Path

import duckdb
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..config import Config
from ..errors import UsageError
from ..ingest.contract import MODELS, column_types
from ..model import marts as duck_marts
from ..model.business_time import calendar_frame
from ..model.warehouse import sql_files
from .dialect import ASOF_TABLES, statements, to_spark
from .engine import _SPARK_TYPE, _swap, entity_columns, raw_path, session

log = logging.getLogger(__name__)

# the configuration-derived tables written beside the marts (readers query staging.settings, sla_targets)
STAGING_TABLES = ("settings", "sla_targets", "status_classes", "duration_buckets", "business_calendar")


def marts_path(lake: Path, table: str) -> Path:
    return lake / "marts" / table


def staging_path(lake: Path, table: str) -> Path:
    return lake / "staging" / table


def marts_exist(lake: str | Path) -> bool:
    """Whether every mart of sql/marts is in the lake."""
    return all(marts_path(Path(lake), name).is_dir() for name, *_ in duck_marts.mart_models())


def _raw_schema(entity: str) -> T.StructType:
    kinds = {**column_types(entity), "updated_at": "ts", "topic_label": "str"}
    fields = [T.StructField(c, _SPARK_TYPE[kinds[c]]) for c in entity_columns(entity)]
    return T.StructType([*fields, T.StructField("_batch_id", T.LongType()),
                         T.StructField("_source_file", T.StringType()), T.StructField("_row_number", T.LongType())])


def _register_raw(spark: SparkSession, lake: Path) -> int:
    """raw__<entity> views over the lake (an empty table where an entity was never loaded); the row count of
    interactions."""
    n = 0
    for entity in MODELS:
        p = raw_path(lake, entity)
        if p.is_dir() and any(p.glob("created_day=*")):
            df = spark.read.parquet(str(p)).drop("created_day")
        else:
            df = spark.createDataFrame([], _raw_schema(entity))
        df.createOrReplaceTempView(f"raw__{entity}")
        if entity == "interactions":
            n = df.count()
    return n


def _view(spark: SparkSession, name: str, frame: pd.DataFrame, schema: str | None = None) -> DataFrame:
    df = spark.createDataFrame(frame, schema) if schema else spark.createDataFrame(frame)
    df.createOrReplaceTempView(name)
    return df


def _to_pandas(df: DataFrame) -> pd.DataFrame:
    """To the driver through Arrow (pyspark's own toPandas uses a pandas argument pandas 3 deprecates)."""
    return df.toArrow().to_pandas()


def _first_row(df: DataFrame) -> tuple:
    """The first row with timestamps as aware UTC datetimes (``collect()`` would give naive local times)."""
    row = _to_pandas(df).iloc[0]
    return tuple(None if pd.isna(v) else (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v) for v in row)


def _sql(spark: SparkSession, duckdb_sql: str) -> DataFrame:
    return spark.sql(to_spark(duckdb_sql)[1])


def _asof_views(spark: SparkSession, calendar_last_day) -> None:
    """The ``__asof`` view of each interval table (pipeline/spark/dialect.py, ``asof_lookup``): each row with
    the next row's lower edge (``_asof_next``) and, for the calendar, one row per day its interval covers, up
    to the calendar's last day for the last interval (``_asof_day``). Small: broadcast to every task."""
    for table, spec in ASOF_TABLES.items():
        schema, name = table.split(".")
        by = f"partition by {spec.by} " if spec.by else ""
        sql = f"select *, lead({spec.on}) over ({by}order by {spec.on}) as _asof_next from {schema}__{name}"
        df = spark.sql(sql)
        if spec.day_bucketed:
            last = F.lit(calendar_last_day).cast("date")
            df = df.withColumn("_asof_day", F.explode(F.sequence(
                F.to_date(spec.on), F.coalesce(F.to_date("_asof_next"), F.greatest(last, F.to_date(spec.on))))))
        F.broadcast(df.cache()).createOrReplaceTempView(f"{schema}__{name}__asof")


def _write(df: DataFrame, target: Path) -> None:
    """Write a table into a new folder and swap it in whole (a rerun gives the same table)."""
    tmp = target.with_name(target.name + ".new")
    if tmp.exists():
        shutil.rmtree(tmp)
    df.write.parquet(str(tmp))
    _swap(tmp, target)


def _predict_partitions(parts, *, model, bar: dict, default_bar: float):
    """Executor side: the fitted FAQ model on distinct (question, faq_language) pairs, as the DuckDB refresh
    applies it (pipeline/model/marts.py, ``predict_questions``)."""
    for part in parts:
        if len(part):
            yield duck_marts.predict_questions(model, part.reset_index(drop=True), bar, default_bar)


def _faq_matches(spark: SparkSession, config: Config):
    """staging__faq_matches, and the fitted model (None without articles or tags) for the clusters."""
    duck = duckdb.connect()
    duck.execute("create schema staging")
    inputs = {
        "stg_faq_articles": "select * from staging.stg_faq_articles",
        "stg_interactions": "select distinct first_message, subject, topic from staging.stg_interactions "
                            "where topic is not null and coalesce(first_message, subject) is not null",
        "stg_questions": "select distinct question, faq_language from staging.stg_questions "
                         "where question is not null",
    }
    for name, q in inputs.items():
        frame = _to_pandas(_sql(spark, q))
        duck.register(f"_{name}", frame)
        duck.execute(f"create table staging.{name} as select * from _{name}")
        duck.unregister(f"_{name}")
    model = duck_marts.fit_faq_model(duck, config)
    duck.close()
    schema = ("question string, faq_language string, faq_article_id string, faq_topic string, "
              "faq_match_score double, is_topic_confident boolean, is_faq_matched boolean")
    if model is None:
        spark.createDataFrame([], schema).createOrReplaceTempView("_faq_unique")
    else:
        fn = functools.partial(_predict_partitions, model=model, bar=dict(config.faq.match_threshold_by_language),
                               default_bar=config.faq.match_threshold)
        pairs = spark.table("staging__stg_questions").where("question is not null") \
            .select("question", "faq_language").distinct()
        pairs.mapInPandas(fn, schema).cache().createOrReplaceTempView("_faq_unique")
    _sql(spark, duck_marts.FAQ_MATCHES_SQL.format(questions="staging.stg_questions", unique="_faq_unique")).cache() \
        .createOrReplaceTempView("staging__faq_matches")
    return model


_CLUSTERS_SCHEMA = ", ".join([
    "cluster_id string, language string, count_questions bigint, count_last_7d bigint, count_prev_7d bigint",
    "trend_ratio double, title_terms string, example_1 string, example_2 string, example_3 string",
    "cohesion double, nearest_article_id string, nearest_topic string, nearest_similarity double",
    "mean_match_score double, rank_factor double, is_gap boolean"])


def _clusters(spark: SparkSession, lake: Path, config: Config, as_of, model) -> None:
    df = _to_pandas(_sql(spark, duck_marts.CLUSTER_INPUT_SQL))
    clusters, members = duck_marts.cluster_frames(df, config, as_of, model)
    _view(spark, "_clusters", clusters, _CLUSTERS_SCHEMA)
    _view(spark, "_members", members, "interaction_id string, cluster_id string")
    for name, q in (("faq_cluster_members", "select * from _members"), ("faq_clusters", duck_marts.CLUSTERS_SQL)):
        _write(_sql(spark, q), marts_path(lake, name))
        spark.read.parquet(str(marts_path(lake, name))).createOrReplaceTempView(f"marts__{name}")


def refresh(lake: str | Path, config: Config, *, master: str | None = None,
            spark: SparkSession | None = None) -> dict:
    """Rebuild every staging table and mart of the lake on Spark. Returns timings."""
    t0 = time.perf_counter()
    lake = Path(lake)
    if not (lake / "raw").is_dir():
        raise UsageError(f"{lake}: no lake here (no raw/ folder): run csqa spark load or csqa export --lake first")
    spark = spark or session(master)
    n = _register_raw(spark, lake)
    frames = duck_marts.config_frames(config)
    lo, hi, as_of = duck_marts.combine_bounds(*(_first_row(_sql(spark, q)) for q in duck_marts.BOUNDS_SQL))
    start, end = duck_marts.calendar_range(lo, hi)
    used = {ch.schedule for ch in config.channels.values()}
    frames["business_calendar"] = calendar_frame({k: v for k, v in config.schedules.items() if k in used},
                                                 start, end)
    frames["settings"] = duck_marts.settings_frame(config, as_of, duck_marts.config_hash(config))
    for name, frame in frames.items():
        _view(spark, f"staging__{name}", frame)
    _asof_views(spark, end)
    spark.sql("select interaction_id from raw__interactions").createOrReplaceTempView("staging__refresh_interactions")
    # Spark resolves a view when it is created: the FAQ matches (read by int_interactions) come between the
    # stg_* views (the model reads them; with the scope views they read) and the int_* ones
    timings = {}
    macros: dict = {}  # DuckDB table macros, expanded (dialect.statements)
    staged = [to_spark(q) for f in sql_files("staging") for q in statements(f.read_text(encoding="utf-8"), macros)]
    for target, q in staged:
        if not target.startswith("staging__int_"):
            spark.sql(q).createOrReplaceTempView(target)
    tm = time.perf_counter()
    model = _faq_matches(spark, config)
    timings["faq_matches"] = round(time.perf_counter() - tm, 3)
    for target, q in staged:
        if target.startswith("staging__int_"):
            spark.sql(q).createOrReplaceTempView(target)
    _sql(spark, "select distinct created_day as day from staging.stg_interactions") \
        .createOrReplaceTempView("staging__refresh_days")
    _sql(spark, "select distinct resolved_day as day from staging.stg_interactions where resolved_day is not null") \
        .createOrReplaceTempView("staging__refresh_resolved_days")
    for name, _mode, _key, sql in duck_marts.mart_models():
        if name == "faq_gaps":
            tm = time.perf_counter()
            _clusters(spark, lake, config, as_of, model)
            timings["faq_clusters"] = round(time.perf_counter() - tm, 3)
        tm = time.perf_counter()
        _write(_sql(spark, sql), marts_path(lake, name))
        spark.read.parquet(str(marts_path(lake, name))).createOrReplaceTempView(f"marts__{name}")
        timings[name] = round(time.perf_counter() - tm, 3)
    for name in STAGING_TABLES:
        _write(spark.table(f"staging__{name}"), staging_path(lake, name))
    spark.catalog.clearCache()
    info = {"full": True, "interactions": n, "seconds": round(time.perf_counter() - t0, 3), "models": timings}
    log.info("spark marts refreshed: %s", info)
    return info


