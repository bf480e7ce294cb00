"""csqa pipeline: read, validate, redact and load support interaction logs into DuckDB."""

__version__ = "0.1.0"
