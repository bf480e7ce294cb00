"""csqa on Apache Spark (optional: ``pip install 'csqa[spark]'``).

Nothing here imports pyspark at module import time except :mod:`csqa.pipeline.spark.engine`, which
only :func:`require_pyspark` and the ``csqa spark`` commands load. The rest of ``csqa.pipeline`` never
imports this package's engine, so the DuckDB path works without pyspark or Java installed.
"""

from __future__ import annotations

import importlib.util
import shutil
import warnings

from ..errors import UsageError

# pyspark 4.3 warns on every import that it does not fully support pandas 3; the path csqa uses (Arrow
# conversion in mapInPandas and createDataFrame) is what tests/test_spark.py checks.
PANDAS3_WARNING = "PySpark does not yet fully support pandas"
warnings.filterwarnings("ignore", message=PANDAS3_WARNING, category=FutureWarning)


def missing() -> str | None:
    """Why Spark cannot run here (pyspark or Java missing), or None."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed: pip install 'csqa[spark]' (needs Java 17+ as well)"
    import os

    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        return "Java was not found (set JAVA_HOME or put java on PATH; Debian: apt-get install openjdk-17-jre-headless)"
    return None


def require_pyspark() -> None:
    """Raise a UsageError (exit code 2) with a clear message when Spark cannot run here."""
    why = missing()
    if why is not None:
        raise UsageError(f"csqa spark needs Spark: {why}")
