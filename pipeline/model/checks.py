"""Data tests: each ``sql/tests/*.sql`` is a query that must return zero rows."""

from __future__ import annotations

from importlib.resources.abc import Traversable
from pathlib import Path

import duckdb

from ..errors import WarehouseError
from .warehouse import connect, sql_files


def test_files() -> list[Traversable]:
    return sql_files("tests")


def run_checks(db: Path, con=None) -> list[dict]:
    own = con is None
    con = con or connect(db, read_only=True)
    try:
        results = []
        for f in test_files():
            sql = f.read_text(encoding="utf-8").rstrip().rstrip(";")
            try:
                n = con.execute(f"select count(*) from ({sql})").fetchall()[0][0]
            except duckdb.CatalogException as e:  # a table added by a newer csqa: its refresh writes it
                raise WarehouseError(f"data test {f.name.removesuffix('.sql')} reads a table this warehouse does not "
                                     f"hold yet (written by an older csqa); the next csqa load or nightly that loads "
                                     f"a batch adds it: {e}") from e
            results.append({"test": f.name.removesuffix(".sql"), "failing_rows": int(n)})
        return results
    finally:
        if own:
            con.close()
