"""csqa pipeline: read, validate, redact and load support interaction logs into DuckDB."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("csqa")  # the installed distribution's version (pyproject.toml)
except PackageNotFoundError:  # pragma: no cover - imported from a checkout that was never installed
    __version__ = "0+unknown"
