"""csqa pipeline: read, validate, redact and load support interaction logs into DuckDB."""

import warnings
from importlib.metadata import PackageNotFoundError, version

# With csqa[spark] installed, `import pandera` imports pyspark.pandas, which warns that pandas 3 is not fully
# supported; csqa uses no pandas-on-Spark API (the Spark engine's Arrow path is tested in tests/test_spark.py).
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)

try:
    __version__ = version("csqa")  # the installed distribution's version (pyproject.toml)
except PackageNotFoundError:  # pragma: no cover - imported from a checkout that was never installed
    __version__ = "0+unknown"


def connect(db=None, *, config=None, export_dir=None):
    """Open the newest published snapshot of the warehouse for analysis, read-only::

        from csqa.pipeline import connect
        con = connect()                      # $CSQA_DB, else the configured path (data/csqa.duckdb)
        con.sql("select channel, count(*) as n from marts.fct_interactions group by 1").df()

    The session never blocks ``csqa load`` / ``csqa nightly`` (it reads a snapshot, not the warehouse file),
    runs in the reporting time zone the marts were built in, keeps integer columns integer in ``.df()``, and
    reads or writes no other file (``export_dir``: the one folder ``COPY ... TO`` may write to). Close it, or
    use it in a ``with`` block; open a new one to see a newer load."""
    from .ops.sqlshell import open_session

    return open_session(db, config=config, export_dir=export_dir)
