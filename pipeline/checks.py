"""Data tests: each ``sql/tests/*.sql`` is a query that must return zero rows."""

from __future__ import annotations

from pathlib import Path

from .warehouse import SQL_DIR, connect

TESTS_DIR = SQL_DIR / "tests"


def test_files() -> list[Path]:
    return sorted(TESTS_DIR.glob("*.sql"))


def run_checks(db: Path, con=None) -> list[dict]:
    own = con is None
    con = con or connect(db, read_only=True)
    try:
        results = []
        for f in test_files():
            sql = f.read_text(encoding="utf-8").rstrip().rstrip(";")
            n = con.execute(f"select count(*) from ({sql})").fetchall()[0][0]
            results.append({"test": f.stem, "failing_rows": int(n)})
        return results
    finally:
        if own:
            con.close()
