"""The ``csqa`` command line. Errors become one clear message on stderr and an exit code.

Exit codes: 0 success; 1 internal error (a bug); 2 usage or configuration error;
3 input rejected (one or more files rejected whole, the rest loaded); 4 warehouse error
(cannot open, locked, rolled back); 5 a data test failed (``csqa check``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import traceback
from pathlib import Path

from . import __version__
from .errors import (
    EXIT_INPUT_REJECTED,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    CsqaError,
)

log = logging.getLogger("csqa")

EPILOG = """exit codes:
  0  success (rows may have been quarantined: see the summary)
  1  internal error (a bug in csqa)
  2  usage or configuration error
  3  input rejected: one or more files rejected whole (the others loaded)
  4  warehouse error: cannot open, locked by another process, or rolled back
  5  a data test failed (csqa check)
  6  another writer holds the lock (csqa load / nightly): nothing was touched
  7  loaded, but the share of quarantined rows passed --max-quarantine-rate (csqa nightly)
  130  interrupted (Ctrl-C); 143  stopped (SIGTERM): a batch not yet committed is rolled back

environment: CSQA_DB (warehouse path), CSQA_CONFIG (config file), CSQA_PSEUDONYM_KEY (HMAC key)"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 on usage errors, as we document
        self.print_usage(sys.stderr)
        sys.stderr.write(f"csqa: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def _common(p: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    p.add_argument("--db", help="warehouse file (default: $CSQA_DB or data/csqa.duckdb)")
    p.add_argument("--config", help="TOML config file (default: $CSQA_CONFIG or ./csqa.toml)")
    if json_flag:
        p.add_argument("--json", action="store_true", help="print a one-line JSON summary on stdout")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(prog="csqa", description="Customer-service quality analytics.", epilog=EPILOG,
                     formatter_class=fmt)
    parser.add_argument("--version", action="version", version=f"csqa {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    g = sub.add_parser("generate", help="write a realistic sample data set", epilog=EPILOG, formatter_class=fmt,
                       description="Write interactions, messages, CSAT surveys and FAQ articles into a folder, "
                                   "deterministically for a seed.")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--interactions", type=int, default=20_000, help="number of interactions (default 20000)")
    g.add_argument("--days", type=int, default=56, help="days of history (default 56)")
    g.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    g.add_argument("--dirty-rate", type=float, default=0.0,
                   help="share of rows given a fault the validation must catch (default 0)")
    g.add_argument("--end", default="2026-11-24", help="last day of data, YYYY-MM-DD (default 2026-11-24)")
    g.add_argument("--format", choices=["csv", "jsonl", "parquet"], default="csv", help="file format (default csv)")
    g.add_argument("--no-messages", action="store_true", help="do not write message events")
    g.add_argument("--json", action="store_true", help="print a one-line JSON summary on stdout")
    g.add_argument("-v", "--verbose", action="store_true")

    ld = sub.add_parser("load", help="validate and load files into the warehouse", epilog=EPILOG,
                        formatter_class=fmt,
                        description="Load files or folders (CSV, JSONL, Parquet) into the DuckDB warehouse in "
                                    "one transaction. Bad rows go to audit.quarantine; a file already loaded "
                                    "(same sha256) is skipped.")
    ld.add_argument("paths", nargs="+", help="files or folders")
    ld.add_argument("--force", action="store_true", help="reload files already loaded")
    ld.add_argument("--source", metavar="NAME",
                    help="read the files with a ready-made source: zendesk, freshdesk, intercom, tweets, chat_log "
                         "(docs/SOURCES.md)")
    ld.add_argument("--dry-run", action="store_true",
                    help="everything but the write: what would load and what would be quarantined, by check; "
                         "the warehouse is not touched")
    _common(ld)

    ins = sub.add_parser("inspect", help="sample an export and write a commented [sources] stub for it",
                         epilog=EPILOG, formatter_class=fmt,
                         description="Read a sample of each file, guess its entity and column mapping, list the "
                                     "values seen in status/priority/channel columns, the timestamp format and "
                                     "time zone, and write a commented TOML stub to edit (docs/SOURCES.md).")
    ins.add_argument("files", nargs="+", help="export files (CSV, JSONL, Parquet)")
    ins.add_argument("--out", help="write the stub to this file (default: print it)")
    ins.add_argument("--rows", type=int, default=2000, help="rows sampled per file (default 2000)")
    ins.add_argument("--config", help="TOML config file (its channels, statuses and priorities are the targets)")
    ins.add_argument("-v", "--verbose", action="store_true")

    st = sub.add_parser("status", help="what is in the warehouse", epilog=EPILOG, formatter_class=fmt)
    _common(st)
    st.add_argument("--batches", type=int, default=10, help="how many recent batch rows to show")

    fg = sub.add_parser("faq-gaps", help="print or export the ranked FAQ gap backlog", epilog=EPILOG,
                        formatter_class=fmt,
                        description="The content team's backlog from marts.faq_gaps: gaps ranked by priority "
                                    "(volume x trend x dissatisfaction), with example questions (redacted).")
    _common(fg)
    fg.add_argument("--out", help="write a CSV file instead of printing")
    fg.add_argument("--limit", type=int, default=20, help="rows to print (default 20; --out writes all)")

    db_ = sub.add_parser("dashboard", help="open the managers' dashboard (Streamlit, localhost)", epilog=EPILOG,
                         formatter_class=fmt,
                         description="Run the Streamlit dashboard on the warehouse's published snapshot. "
                                     "Binds to 127.0.0.1 unless --address says otherwise; see docs/OPERATIONS.md "
                                     "for putting it behind authentication.")
    _common(db_, json_flag=False)
    db_.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    db_.add_argument("--lake", metavar="DIR",
                     help="show a Spark-built lake's marts instead of the warehouse (csqa spark refresh)")
    db_.add_argument("--address", default="127.0.0.1", help="address to bind (default 127.0.0.1)")

    nt = sub.add_parser("nightly", help="load everything new in an inbox folder (for cron / systemd)", epilog=EPILOG,
                        formatter_class=fmt,
                        description="Take the lock, load every file in the inbox in one batch, archive loaded "
                                    "files and move rejected ones aside with a reason file, publish a snapshot, "
                                    "print one JSON line. See docs/OPERATIONS.md.")
    nt.add_argument("--inbox", required=True, help="folder where exports are delivered")
    nt.add_argument("--archive", help="where loaded files go (default: <inbox>/../archive/<date>/)")
    nt.add_argument("--rejected", help="where rejected files go (default: <inbox>/../rejected/<date>/)")
    _common(nt, json_flag=False)  # nightly always prints its JSON line
    nt.add_argument("--max-quarantine-rate", type=float, default=0.05,
                    help="alert (exit 7) when more than this share of rows is quarantined (default 0.05)")
    nt.add_argument("--on-failure", metavar="CMD",
                    help="command run on failure or high quarantine, with the JSON summary on stdin")

    sq = sub.add_parser("sql", help="query the published snapshot (or open an interactive shell)", epilog=EPILOG,
                        formatter_class=fmt,
                        description="Run a SQL query against the newest published read-only snapshot and print "
                                    "the result; with no query, an interactive shell. The session is "
                                    "read-only, in the reporting time zone, and reaches no file but "
                                    "--export-dir.")
    sq.add_argument("query", nargs="?", help="SQL to run (omit for an interactive shell)")
    _common(sq, json_flag=False)
    sq.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    sq.add_argument("--export-dir", metavar="DIR",
                    help="the one folder COPY ... TO / EXPORT DATABASE may write to (default: none; the session "
                         "reads no other file)")
    sq.add_argument("--lake", metavar="DIR",
                    help="query a Spark-built lake's marts instead (DuckDB over its Parquet files; csqa spark refresh)")
    sq.add_argument("--print-path", action="store_true",
                    help="print the stable path of the newest snapshot (open it read-only from your own tools) "
                         "and exit")

    sp = sub.add_parser("spark", help="run the load on Apache Spark into a Parquet lake (optional: csqa[spark])",
                        epilog=EPILOG, formatter_class=fmt)
    sp_sub = sp.add_subparsers(dest="spark_command", required=True, parser_class=_Parser)
    spl = sp_sub.add_parser("load", help="validate and upsert files into a Parquet lake with Spark", epilog=EPILOG,
                            formatter_class=fmt,
                            description="The same contract, quarantine and upsert rule as csqa load, run on Spark; "
                                        "writes DIR/raw, DIR/quarantine and DIR/audit as Parquet (docs/SCALE.md).")
    spl.add_argument("paths", nargs="+", help="files or folders")
    spl.add_argument("--lake", required=True, metavar="DIR", help="lake folder (created if missing)")
    spl.add_argument("--master", help="Spark master (default local[2]; a URL on a cluster; under spark-submit, "
                                      "spark-submit's)")
    spl.add_argument("--force", action="store_true", help="reload files already loaded")
    spl.add_argument("--no-refresh", action="store_true",
                     help="do not rebuild the marts after the load (csqa spark refresh does it later)")
    spl.add_argument("--source", metavar="NAME", help="a ready-made source, as for csqa load")
    spl.add_argument("--config", help="TOML config file (default: $CSQA_CONFIG or ./csqa.toml)")
    spl.add_argument("--json", action="store_true", help="print a one-line JSON summary on stdout")
    spl.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    spr = sp_sub.add_parser("refresh", help="rebuild the lake's marts with Spark (the same SQL as DuckDB's)",
                            epilog=EPILOG, formatter_class=fmt,
                            description="Rebuilds every staging table and mart from the lake's raw tables with "
                                        "the SQL of sql/staging and sql/marts, transpiled to Spark SQL; writes "
                                        "DIR/marts/<table> and DIR/staging/<table> as Parquet (docs/SCALE.md).")
    spr.add_argument("--lake", required=True, metavar="DIR", help="lake folder (written by csqa spark load or "
                                                                   "csqa export --lake)")
    spr.add_argument("--master", help="Spark master (default local[2]; a URL on a cluster; under spark-submit, "
                                      "spark-submit's)")
    spr.add_argument("--config", help="TOML config file (default: $CSQA_CONFIG or ./csqa.toml)")
    spr.add_argument("--json", action="store_true", help="print a one-line JSON summary on stdout")
    spr.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")

    ex = sub.add_parser("export", help="move the warehouse's raw layer into a Parquet lake (for csqa spark)",
                        epilog=EPILOG, formatter_class=fmt,
                        description="Writes raw tables, load audit and quarantine of the newest published "
                                    "snapshot into DIR in the layout csqa spark load writes (day partitions, "
                                    "microsecond timestamps), with the pseudonym key, so csqa spark refresh and "
                                    "csqa spark load take over (docs/SCALE.md).")
    ex.add_argument("--lake", required=True, metavar="DIR", help="a new or empty folder")
    _common(ex)

    rf = sub.add_parser("refresh", help="rebuild every mart from the stored rows (after a csqa.toml change; "
                                        "rescores every FAQ question)", epilog=EPILOG, formatter_class=fmt,
                        description="Rebuild every mart of the warehouse from the rows it holds, in one transaction, "
                                    "and publish a snapshot for readers. A load rebuilds only what its batch changed; "
                                    "run this after editing csqa.toml (SLA targets, business hours, holidays) to see "
                                    "it before the next delivery, or on a schedule (weekly) so that every question's "
                                    "FAQ match and topic come from one model, as in a rebuild from the archive "
                                    "(docs/OPERATIONS.md).")
    _common(rf)

    ck = sub.add_parser("check", help="run the data tests in sql/tests against a warehouse", epilog=EPILOG,
                        formatter_class=fmt)
    _common(ck)
    return parser


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _cmd_generate(args) -> int:
    from .synth.generate import generate

    if args.interactions < 1 or args.days < 1 or not 0 <= args.dirty_rate <= 1:
        raise _usage("--interactions and --days must be positive, --dirty-rate between 0 and 1")
    written = generate(Path(args.out), n=args.interactions, days=args.days, seed=args.seed,
                       dirty_rate=args.dirty_rate, end=args.end, fmt=args.format,
                       messages=not args.no_messages)
    if args.json:
        print(json.dumps({"out": args.out, "files": written}))
    else:
        for name, rows in written.items():
            print(f"{rows:>10,}  {Path(args.out) / name}")
    return EXIT_OK


def _usage(msg: str) -> CsqaError:
    from .errors import UsageError

    return UsageError(msg)


def _db(args, config) -> Path:
    from .model.warehouse import resolve_db_path

    return resolve_db_path(args.db, config.warehouse.path)


def _cmd_load(args) -> int:
    from .config import load_config
    from .ingest.load import load

    config = load_config(args.config, source=args.source)
    if args.dry_run:
        from .ingest.load import dry_run, render_dry_run

        report = dry_run(args.paths, _db(args, config), config, force=args.force)
        print(json.dumps(report, ensure_ascii=False, default=str) if args.json else render_dry_run(report))
        return EXIT_INPUT_REJECTED if report["files_rejected"] else EXIT_OK
    summary = load(args.paths, _db(args, config), config, force=args.force)
    code = _print_summary(summary, args.json)
    if summary.marts.get("rebuilt") == "configuration or SQL changed" and not args.json:
        print(f"note: every mart was rebuilt with this run's configuration ({_config_named(args.config)}): it, or "
              "csqa's SQL, differs from the one of the warehouse's last refresh. A load run from another folder reads "
              "another csqa.toml, or none (--config names one).", file=sys.stderr)
    return code


def _config_named(given) -> str:
    from .config import config_path

    path = config_path(given)
    if path is None:
        return f"csqa's defaults: no csqa.toml in {Path.cwd()}, and CSQA_CONFIG is not set"
    return str(Path(path).resolve())


def _print_summary(summary, as_json: bool, extra: dict | None = None) -> int:
    """A load's summary (csqa load and csqa spark load): one JSON line, or a line a file and a total. ``extra``
    (csqa spark load: the marts refresh) joins the JSON and, as ``key: value``, the text."""
    from .ingest.load import EMPTY_NOTE

    data = summary.as_dict()
    if as_json:
        data = {**data, **(extra or {})}
        print(json.dumps(data, ensure_ascii=False, default=str))
    else:
        for f in summary.files:
            line = f"{f.status:<9} {f.source_file}"
            if f.status == "loaded":
                line += (f"  [{f.entity}] read {f.rows_read:,} loaded {f.rows_loaded:,} "
                         f"quarantined {f.rows_quarantined:,} duplicate {f.rows_duplicate:,}")
                if EMPTY_NOTE in f.notes:
                    line += f" ({EMPTY_NOTE})"
                if f.rows_conflicting:
                    from .ingest.load import conflict_note

                    line += f" ({conflict_note(f.rows_conflicting)})"
            elif f.error:
                line += f"  {f.error}"
            print(line)
        batch = f"batch {data['batch_id']}" if data["batch_id"] is not None else "no batch written"
        print(f"{batch}: {data['rows_loaded']:,} rows loaded, "
              f"{data['rows_quarantined']:,} quarantined, {data['rows_duplicate']:,} duplicate, "
              f"{data['files_rejected']} file(s) rejected, {data['files_skipped']} skipped "
              f"in {data['seconds']:.1f}s -> {data['db']}")
        for key, value in (extra or {}).items():
            print(f"{key}: {value}")
        if data.get("ignored_files"):
            from .ingest.load import wrong_type_reason

            for name in data["ignored_files"]:
                print(f"ignored {wrong_type_reason(Path(name))}", file=sys.stderr)
    return EXIT_INPUT_REJECTED if data["files_rejected"] else EXIT_OK


def _cmd_spark(args) -> int:
    from .config import load_config
    from .spark import require_pyspark

    require_pyspark()  # exit code 2 with a clear message when pyspark or Java is missing
    from .spark.engine import load as spark_load
    from .spark.engine import session
    from .spark.marts import marts_exist
    from .spark.marts import refresh as spark_refresh

    if args.spark_command == "refresh":
        config = load_config(args.config)
        info = spark_refresh(args.lake, config, master=args.master)  # checks the lake before starting Spark
        if args.json:
            print(json.dumps(info, default=str))
        else:
            print(f"marts rebuilt on Spark in {info['seconds']:.1f}s ({info['interactions']:,} interactions) "
                  f"-> {Path(args.lake) / 'marts'}")
        return EXIT_OK
    config = load_config(args.config, source=args.source)
    spark = session(args.master)
    summary = spark_load(args.paths, args.lake, config, force=args.force, spark=spark)
    has_raw = (Path(args.lake) / "raw").is_dir()
    marts = None
    if not args.no_refresh and has_raw and (summary.batch_id is not None or not marts_exist(args.lake)):
        info = spark_refresh(args.lake, config, spark=spark)
        marts = (info if args.json else f"rebuilt on Spark in {info['seconds']:.1f}s "
                 f"({info['interactions']:,} interactions) -> {Path(args.lake) / 'marts'}")
    return _print_summary(summary, args.json, None if marts is None else {"marts": marts})


def _cmd_inspect(args) -> int:
    from .config import load_config
    from .ingest.stub import stubs

    if args.rows < 1:
        raise _usage("--rows must be positive")
    config = load_config(args.config)
    text = stubs([Path(f) for f in args.files], config, rows=args.rows)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        sys.stderr.write(f"stub written to {args.out}; edit the TODO lines, then csqa load --dry-run "
                         f"--config {args.out} ...\n")
    else:
        print(text, end="")
    return EXIT_OK


def _cmd_status(args) -> int:
    from .config import load_config
    from .ops.status import status

    config = load_config(args.config)
    info = status(_db(args, config), batches=args.batches)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, default=str))
    else:
        from .ops.status import render

        print(render(info))
    return EXIT_OK


def _cmd_check(args) -> int:
    from .config import load_config
    from .errors import CheckFailed, WarehouseError
    from .model.checks import run_checks
    from .model.warehouse import connect

    config = load_config(args.config)
    con = connect(_db(args, config), read_only=True)
    try:
        # a warehouse made by a run stopped before its first batch was written holds no marts to test
        marts = con.execute("select count(*) from information_schema.tables where table_schema = 'marts'"
                            ).fetchall()[0][0]
        results = run_checks(None, con) if marts else None
    finally:
        con.close()
    if results is None:
        raise WarehouseError("the warehouse holds no marts yet (no batch was written to it), so there is nothing "
                             "to test: load data first (csqa load FILES, or the next csqa nightly)",
                             title="There is nothing to check yet.")
    failed = [r for r in results if r["failing_rows"]]
    errors = [r for r in results if r["failing_rows"] is None]  # could not run (a table missing)
    if args.json:
        print(json.dumps({"tests": len(results), "failed": len(failed), "errors": len(errors), "results": results}))
    else:
        for r in results:
            if r["failing_rows"] is None:
                print(f"error {r['test']}  ({r['error']})")
            else:
                print(f"{'FAIL' if r['failing_rows'] else 'ok  '}  {r['test']}  ({r['failing_rows']} rows)")
        print(f"{len(results) - len(failed) - len(errors)} passed, {len(failed)} failed"
              + (f", {len(errors)} could not run" if errors else ""))
    not_run = (f"{len(errors)} data test(s) could not run ({', '.join(r['test'] for r in errors)}): they read tables "
               "or columns this warehouse does not hold; a warehouse written by an older csqa gets them from the next "
               "load that writes a batch") if errors else ""
    if failed:  # a failed test is the graver news (exit 5), whatever else could not run
        raise CheckFailed(f"{len(failed)} data test(s) failed: {', '.join(r['test'] for r in failed)}"
                          + (f"; and {not_run}" if errors else ""))
    if errors:
        raise WarehouseError(not_run)
    return EXIT_OK


def _cmd_refresh(args) -> int:
    from .config import load_config
    from .ops.refresh import rebuild

    config = load_config(args.config)
    info = rebuild(_db(args, config), config)
    info["config"] = _config_named(args.config)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, default=str))
    else:
        print(f"rebuilt every mart from {info['interactions']:,} interactions ({info['days']:,} days) in "
              f"{info['marts_seconds']:.1f}s under {info['config']} -> {info['db']}"
              + (f"; published {info['snapshot']}" if info["snapshot"] else ""))
    if info["rebuilt"] == "configuration or SQL changed":  # (with --json too: a cron line keeps stderr apart)
        print(f"note: the configuration ({info['config']}), or csqa's SQL, differs from the one of the warehouse's "
              "last refresh; the marts now follow it. Run with the nightly's folder and environment (its csqa.toml, "
              "or its CSQA_CONFIG), or --config, to keep the nightly's.", file=sys.stderr)
    return EXIT_OK


def _cmd_faq_gaps(args) -> int:
    import duckdb

    from .config import load_config
    from .model.warehouse import connect_reader
    from .ops.snapshots import reader_path

    config = load_config(args.config)
    con = connect_reader(reader_path(_db(args, config)))  # the snapshot: never blocks a load
    try:
        df = con.execute(
            """select priority_rank, gap_type, topic, language, cluster_id, count_contacts, count_last_7d,
                      count_prev_7d, satisfied_share, priority_score, suggested_title_terms,
                      array_to_string(example_questions, ' | ') as example_questions
               from marts.faq_gaps order by priority_rank"""
        ).df()
    except duckdb.Error as e:  # a warehouse without marts yet
        from .errors import WarehouseError, first_line

        raise WarehouseError(f"no FAQ gap mart in this warehouse ({first_line(e)}); load data first",
                             title="There is nothing to show yet.") from e
    finally:
        con.close()
    if args.out:
        df.to_csv(args.out, index=False)
        if args.json:
            print(json.dumps({"out": args.out, "rows": len(df)}))
        else:
            print(f"{len(df)} gaps written to {args.out}")
        return EXIT_OK
    if args.json:
        print(df.head(args.limit).to_json(orient="records", force_ascii=False))
        return EXIT_OK
    for r in df.head(args.limit).itertuples():
        where = r.topic if isinstance(r.topic, str) else f"cluster {r.cluster_id}"
        lang = r.language if isinstance(r.language, str) else "all languages"
        terms = f"  terms: {r.suggested_title_terms}" if isinstance(r.suggested_title_terms, str) else ""
        print(f"#{r.priority_rank:<3} {r.gap_type:<23} {where:<18} {lang:<14} contacts {r.count_contacts:>6,} "
              f"score {r.priority_score:>8.1f}{terms}")
        if isinstance(r.example_questions, str) and r.example_questions:
            print(f"       e.g. {r.example_questions[:160]}")
    return EXIT_OK


def _cmd_nightly(args) -> int:
    from .config import load_config
    from .ops.nightly import alert, run_nightly

    summary: dict = {"command": "nightly"}
    try:
        config = load_config(args.config)
        code, summary = run_nightly(Path(args.inbox), _db(args, config), config, archive=args.archive,
                                    rejected=args.rejected, max_quarantine_rate=args.max_quarantine_rate)
    except Exception as e:  # (a stop that reached a DuckDB statement comes as DuckDB's own error)
        return _nightly_stopped(args) if _STOP_REQUESTED else _nightly_failed(args, e)
    except (Stopped, KeyboardInterrupt):  # stopped (systemd, cron's timeout) or Ctrl-C: cron hears of it too
        return _nightly_stopped(args)
    print(json.dumps(summary, default=str, ensure_ascii=False))
    if code != EXIT_OK and args.on_failure:
        alert(args.on_failure, summary)
    return code


def _nightly_stopped(args) -> int:
    from .ops.nightly import alert

    said, how, code = _how_stopped()
    summary = {"status": "stopped", "error": f"stopped by {how}: {STOPPED_NOTE}",
               "title": "csqa nightly was stopped.", "exit_code": code}
    print(json.dumps(summary, default=str))
    sys.stderr.write(f"csqa: {said}; {STOPPED_NOTE}; files not loaded stay in the inbox\n")
    if args.on_failure:
        alert(args.on_failure, summary)
    return summary["exit_code"]


def _nightly_failed(args, e: Exception) -> int:
    """A failed nightly: its JSON line, --on-failure and the exit code (a bug: cron still hears about it, exit 1)."""
    from .ops.nightly import alert

    if isinstance(e, CsqaError):
        summary = {"status": "failed", "error": str(e), "title": e.title, "exit_code": e.exit_code}
        print(json.dumps(summary, default=str))
        sys.stderr.write(f"csqa: {e.title}\n{e}\n")
        if args.on_failure and e.exit_code != 6:  # a held lock is not a failure of this run
            alert(args.on_failure, summary)
        return e.exit_code
    summary = {"status": "failed", "error": f"internal error: {type(e).__name__}: {e}",
               "title": "csqa failed (a bug in csqa).", "exit_code": EXIT_INTERNAL}
    print(json.dumps(summary, default=str, ensure_ascii=False))
    sys.stderr.write("csqa: internal error (a bug in csqa; please report it with the lines below)\n"
                     + "".join(traceback.format_exception(e, limit=-3)))
    if args.on_failure:
        alert(args.on_failure, summary)
    return EXIT_INTERNAL


def _cmd_sql(args) -> int:
    from .config import load_config
    from .ops.sqlshell import run_query, shell

    config = load_config(args.config)
    db = _db(args, config)
    lake = _lake_arg(args)
    if args.print_path and lake is not None:
        print(lake / "marts")  # read with DuckDB: read_parquet('<this>/<table>/*.parquet')
        return EXIT_OK
    if args.print_path:
        from .ops.sqlshell import print_path

        return print_path(db)
    if args.query:
        return run_query(db, args.query, csv=args.csv, export_dir=args.export_dir, lake=lake)
    if not sys.stdin.isatty():  # a script piped in: Ctrl-C ends it (exit 130), as it ends a query
        return shell(db, export_dir=args.export_dir, lake=lake)
    # at a terminal, Ctrl-C cancels the shell's running statement, not the shell: the watcher interrupts it on every
    # Ctrl-C, and the shell reads and empties the watcher's notes
    _CANCELLING.append(True)
    try:
        return shell(db, export_dir=args.export_dir, lake=lake, stops=_STOP_REQUESTED)
    finally:
        _CANCELLING.clear()


def _lake_arg(args) -> Path | None:
    """--lake DIR, checked: a lake with marts (built by csqa spark refresh)."""
    if not getattr(args, "lake", None):
        return None
    lake = Path(args.lake).resolve()
    if not (lake / "marts").is_dir():
        raise _usage(f"--lake {args.lake}: no marts there; build them with csqa spark refresh --lake {args.lake}")
    return lake


def _cmd_dashboard(args) -> int:
    import importlib.util
    import os

    from .config import load_config

    config = load_config(args.config)
    db = _db(args, config).resolve()
    # the installed app file, found without importing the UI package (the pipeline never imports it)
    app = Path(importlib.util.find_spec("csqa.dashboard").origin).parent / "app.py"
    env = {**os.environ, "CSQA_DB": str(db)}
    lake = _lake_arg(args)
    if lake is not None:
        env["CSQA_LAKE"] = str(lake)
        db = lake
    if args.config:
        env["CSQA_CONFIG"] = str(Path(args.config).resolve())
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", args.address,
           "--server.port", str(args.port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--client.toolbarMode", "minimal"]
    sys.stderr.write(f"csqa dashboard on http://{args.address}:{args.port} ({'lake' if lake else 'warehouse'} {db}); "
                     "Ctrl-C to stop\n")
    sys.stderr.flush()
    # replace this process with Streamlit's, so signals (Ctrl-C, systemd's stop, a test's terminate) reach it
    os.execvpe(sys.executable, cmd, env)
    return 0  # pragma: no cover


def _cmd_export(args) -> int:
    from .config import load_config
    from .ingest.privacy import key_path
    from .ops.lake import export_lake
    from .ops.snapshots import reader_path

    config = load_config(args.config)
    db = _db(args, config)
    if not reader_path(db).exists():
        from .errors import WarehouseError

        raise WarehouseError(f"no warehouse at {db}; load data first: csqa load sample_data/",
                             title="There is no warehouse yet.")
    key = key_path(db)
    counts = export_lake(reader_path(db), key if key.is_file() else None, args.lake)
    if args.json:
        print(json.dumps({"lake": str(args.lake), **counts}))
    else:
        print(", ".join(f"{k} {v:,}" for k, v in counts.items()) + f" -> {args.lake}")
        print(f"next: csqa spark refresh --lake {args.lake}")
    return EXIT_OK


COMMANDS = {
    "generate": _cmd_generate,
    "load": _cmd_load,
    "inspect": _cmd_inspect,
    "status": _cmd_status,
    "check": _cmd_check,
    "refresh": _cmd_refresh,
    "faq-gaps": _cmd_faq_gaps,
    "nightly": _cmd_nightly,
    "sql": _cmd_sql,
    "dashboard": _cmd_dashboard,
    "spark": _cmd_spark,
    "export": _cmd_export,
}


class Stopped(BaseException):
    """A stop request (SIGTERM: kill, systemd, cron's timeout) ending a command as Ctrl-C does."""


EXIT_STOPPED = 128 + 15  # a shell's code for a process ended by SIGTERM (15)
EXIT_INTERRUPTED = 128 + 2  # ... by SIGINT (2): Ctrl-C
# the signals that came (SIGTERM or SIGINT), the first deciding how the command ended: DuckDB turns the exception a
# handler raises inside its statement (Stopped, KeyboardInterrupt) into its own error ("Query interrupted")
_STOP_REQUESTED: list[int] = []
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_UNWINDING: list[int] = []  # the stop signals _stop took; the first raised, the later ones are only noted
_CANCELLING: list[bool] = []  # set by the interactive sql shell: the watcher interrupts on every Ctrl-C
_REPORTED: list[bool] = []  # the stop's message was written
STOPPED_NOTE = ("a batch not yet committed was rolled back and its staged files removed; one committed before the "
                "stop is kept and published by the next run (csqa status shows what is loaded)")
STOP_NOTES = {"load": STOPPED_NOTE, "nightly": STOPPED_NOTE,
              "refresh": "a refresh not yet committed was rolled back (the marts are as they were); one committed "
                         "before the stop is kept, and readers see it from the next load's or refresh's snapshot"}


def _stop(signum, frame):
    """The handler of SIGTERM (raises Stopped) and of Ctrl-C (KeyboardInterrupt, as Python's own handler does).
    Only the first raises: a second Ctrl-C, pressed while the first rolls the batch back and deletes its staged
    files, would interrupt that clean-up half-way."""
    _STOP_REQUESTED.append(signum)
    _UNWINDING.append(signum)
    if len(_UNWINDING) > 1:
        return
    _interrupt_statements()
    raise KeyboardInterrupt if signum == signal.SIGINT else Stopped


def _how_stopped() -> tuple[str, str, int]:
    """What ended the command, as said to the user and in the nightly's JSON line, and its exit code: SIGTERM if one
    came, else Ctrl-C (also when no signal came: a KeyboardInterrupt raised without csqa's handler)."""
    if signal.SIGTERM in _STOP_REQUESTED:
        return "stopped (SIGTERM)", "SIGTERM", EXIT_STOPPED
    return "interrupted (Ctrl-C)", "Ctrl-C", EXIT_INTERRUPTED


def _interrupt_statements() -> None:
    """End the DuckDB statements of the open connections (warehouse.interrupt_statements); none exists before that
    module is loaded (a stop while it loads must not use it half-loaded)."""
    warehouse = sys.modules.get(f"{__package__}.model.warehouse")
    interrupt = getattr(warehouse, "interrupt_statements", None)  # (None while the module is still loading)
    if interrupt is not None:
        interrupt()


def _watch_stops(read_fd: int) -> None:
    """The stop watcher's thread: Python runs a signal handler on the main thread only between the tasks of a DuckDB
    statement that thread runs itself, so the handler can wait for the statement's end (minutes into a 10M build).
    The signal's number (SIGTERM, or SIGINT: Ctrl-C) reaches this thread at once, through the wake-up file
    descriptor, and it interrupts the open connections then; the handler still ends the command (the sql shell's
    own, the statement). Returns when the descriptor's other end closes."""
    while True:
        try:
            data = os.read(read_fd, 64)
        except OSError:
            return
        if not data:
            return
        # only while the handler has not run: once it has, the main thread has left its statement, and an interrupt
        # now would land in the rollback that follows (both sides run holding the GIL, so the check is exact)
        # (in the interactive sql shell, every Ctrl-C: one that came just before a statement started found nothing
        # to interrupt, and the next must still cancel it)
        stop = next((n for n in data if n in _STOP_SIGNALS), None)
        if stop is not None and (not _STOP_REQUESTED or (stop == signal.SIGINT and _CANCELLING)):
            _STOP_REQUESTED.append(stop)  # before DuckDB raises: the error is then the stop's
            try:
                _interrupt_statements()
            except Exception:  # pragma: no cover  (the watcher must outlive any one failure)
                log.debug("the stop watcher could not interrupt", exc_info=True)


def _start_stop_watch():
    """Start ``_watch_stops`` on a pipe set as the signal wake-up descriptor; returns what undoes it. Call it before
    the handlers are installed: a stop cannot then interrupt it half-way."""
    import threading

    read_fd, write_fd = os.pipe()
    try:
        os.set_blocking(write_fd, False)
        previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        try:
            watcher = threading.Thread(target=_watch_stops, args=(read_fd,), name="csqa-stop-watch", daemon=True)
            watcher.start()
        except BaseException:
            signal.set_wakeup_fd(previous)
            raise
    except BaseException:
        os.close(read_fd)
        os.close(write_fd)
        raise

    def undo() -> None:
        signal.set_wakeup_fd(previous)
        os.close(write_fd)  # the watcher's read ends
        watcher.join(timeout=5)
        if not watcher.is_alive():  # else a forked child holds the write end: the read end is left open rather
            os.close(read_fd)  # than closed under the watcher's read, which could then take a reused number's bytes

    return undo


def _stopped(args) -> int:
    said, _, code = _how_stopped()
    note = ("; nothing was written (a dry run)" if getattr(args, "dry_run", False)
            else f"; {STOP_NOTES[args.command]}" if args.command in STOP_NOTES else "")
    sys.stderr.write(f"csqa: {said}{note}\n")
    if getattr(args, "json", False) and args.command != "nightly":  # (the nightly writes its own line)
        print(json.dumps({"status": "stopped", "error": f"{said}{note}", "exit_code": code}))
    _REPORTED.append(True)  # (after it: a late handler's stop in between writes it twice rather than never)
    return code


def main(argv: list[str] | None = None) -> int:
    import threading

    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(getattr(args, "verbose", False))
    # a stop unwinds the command as Ctrl-C does, so its clean-up runs: the batch's transaction is rolled back, its
    # staged files (<db>.stage/, a dry run's spill folder) are deleted, the writer lock is released
    # (not where the parent set SIGTERM to be ignored, nor off the main thread, where no handler can be set)
    # (Ctrl-C likewise, with its own exit code; a query it interrupts raises DuckDB's error, not KeyboardInterrupt)
    previous: dict = {}
    unwatch = None
    _STOP_REQUESTED.clear()
    _UNWINDING.clear()
    _CANCELLING.clear()
    _REPORTED.clear()
    if threading.current_thread() is threading.main_thread():
        handled = [s for s in _STOP_SIGNALS if signal.getsignal(s) is not signal.SIG_IGN]
        if handled and args.command != "dashboard":  # (which becomes Streamlit's process)
            unwatch = _start_stop_watch()
        previous = {s: signal.signal(s, _stop) for s in handled}
    try:
        return _run(args)
    except (Stopped, KeyboardInterrupt):  # the stop's handler ran late, while _run reported how the command ended
        return _stopped(args) if not _REPORTED else _how_stopped()[2]
    finally:
        # a stop that comes from here on is only noted (appending is no Python call, so no handler can run before
        # it); one pending already (the watcher ended the statement first) runs in _noted, a Python call
        _UNWINDING.append(0)
        _noted()
        for s, handler in previous.items():
            signal.signal(s, handler)
        if unwatch is not None:
            unwatch()


def _noted() -> None:
    """Nothing: Python runs a pending signal's handler when a Python function starts."""


def _os_error(args, e: OSError) -> int:
    """One line for an error of the file system: exit 4 where the disk failed or is full (the warehouse's
    state: the batch was rolled back), else 2 (a path given that cannot be used); -v adds the traceback."""
    import errno

    from .errors import EXIT_WAREHOUSE

    code = EXIT_WAREHOUSE if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS) else EXIT_USAGE
    where = f": {e.filename}" if e.filename else ""
    if isinstance(e, (FileExistsError, NotADirectoryError)) and e.filename:
        e = OSError(e.errno, "a file is in the way where a folder is needed (in the path)", e.filename)
    title = "The disk could not be written." if code == EXIT_WAREHOUSE else "A file or folder could not be used."
    sys.stderr.write(f"csqa: {title}\n{e.strerror or e}{where}\n")
    if getattr(args, "verbose", False):
        sys.stderr.write(traceback.format_exc(limit=-3))
    if getattr(args, "json", False):
        print(json.dumps({"error": f"{e.strerror or e}{where}", "title": title, "exit_code": code}))
    return code


def _run(args) -> int:
    """The command, and how it ended: its code, or the exit code of the error or stop that ended it."""
    try:
        return COMMANDS[args.command](args)
    except (Stopped, KeyboardInterrupt):
        return _stopped(args)
    except CsqaError as e:
        if _STOP_REQUESTED:  # the stop reached a DuckDB statement, which reported it as its own error
            return _stopped(args)
        sys.stderr.write(f"csqa: {e.title}\n{e}\n")
        if getattr(args, "json", False):
            print(json.dumps({"error": str(e), "title": e.title, "exit_code": e.exit_code}))
        return e.exit_code
    except BrokenPipeError:  # the reader of our output stopped reading (`| head`): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # (Python's own flush at exit would fail on the closed pipe again)
        return EXIT_OK
    except OSError as e:  # a path csqa was given that cannot be used (no such folder, a file in the way, denied)
        if _STOP_REQUESTED:
            return _stopped(args)
        return _os_error(args, e)
    except Exception:
        if _STOP_REQUESTED:  # as above: DuckDB's "Query interrupted"
            return _stopped(args)
        sys.stderr.write(
            "csqa: internal error (a bug in csqa; please report it with the lines below)\n"
            + traceback.format_exc(limit=-3)
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
