"""Data tests: each ``sql/tests/*.sql`` is a query that must return zero rows."""

from __future__ import annotations

from importlib.resources.abc import Traversable
from pathlib import Path

import duckdb

from ..errors import first_line
from .warehouse import connect, sql_files


def test_files() -> list[Traversable]:
    return sql_files("tests")


def run_checks(db: Path, con=None) -> list[dict]:
    """Each data test's failing rows; a test that reads a table the warehouse does not hold has ``failing_rows``
    None and an ``error`` (``csqa check`` reports it, after running the others)."""
    own = con is None
    con = con or connect(db, read_only=True)
    try:
        results = []
        for f in test_files():
            sql = f.read_text(encoding="utf-8").rstrip().rstrip(";")
            name = f.name.removesuffix(".sql")
            try:
                n = con.execute(f"select count(*) from ({sql})").fetchall()[0][0]
            except (duckdb.CatalogException, duckdb.BinderException) as e:  # e.g. a table or column added by a
                # newer csqa: its refresh writes it
                results.append({"test": name, "failing_rows": None,  # DuckDB's first line: what is missing
                                "error": first_line(e)})
                continue
            results.append({"test": name, "failing_rows": int(n)})
        return results
    finally:
        if own:
            con.close()
