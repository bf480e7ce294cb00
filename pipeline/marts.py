"""Refreshing the staging views and mart tables (``sql/staging``, ``sql/marts``)."""

from __future__ import annotations

import logging

import duckdb

from .config import Config
from .warehouse import SQL_DIR

log = logging.getLogger(__name__)


def refresh(con: duckdb.DuckDBPyConnection, config: Config, changed: dict[str, int]) -> None:
    """Rebuild staging and marts inside the caller's transaction."""
    for layer in ("staging", "marts"):
        for file in sorted((SQL_DIR / layer).glob("*.sql")):
            con.execute(file.read_text(encoding="utf-8"))
