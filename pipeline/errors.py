"""One exception family, with text a person can act on, and the exit codes the CLI maps it to.

Exit codes (documented in the README and ``csqa --help``):

====  =====================================================================
code  meaning
====  =====================================================================
0     success (rows may have been quarantined; see the summary)
1     internal error: a bug in csqa; the message says where to report it
2     usage or configuration error: bad flag, bad config, path not found
3     input rejected: at least one file was rejected whole (others loaded)
4     warehouse error: the DuckDB file cannot be opened, is locked by
      another process, or a migration failed; nothing was changed
5     data check failed: ``csqa check`` found rows that break a data test
6     locked: another ``csqa load`` / ``csqa nightly`` holds the writer lock; nothing was touched
7     quarantine high: loaded, but more rows than ``--max-quarantine-rate`` were quarantined
====  =====================================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INPUT_REJECTED = 3
EXIT_WAREHOUSE = 4
EXIT_CHECK_FAILED = 5
EXIT_LOCKED = 6


class CsqaError(Exception):
    """Base of every error csqa raises on purpose. ``str(err)`` is meant for a person."""

    exit_code = EXIT_INTERNAL
    title = "csqa failed."

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        if title is not None:
            self.title = title


class UsageError(CsqaError):
    exit_code = EXIT_USAGE
    title = "The command line is not valid."


class ConfigError(CsqaError):
    exit_code = EXIT_USAGE
    title = "The configuration is not valid."


class InputFileError(CsqaError):
    """A whole file cannot be read as the entity it should hold. The file is rejected."""

    exit_code = EXIT_INPUT_REJECTED
    title = "An input file was rejected."


class WarehouseError(CsqaError):
    exit_code = EXIT_WAREHOUSE
    title = "The DuckDB warehouse could not be used."


class CheckFailed(CsqaError):
    exit_code = EXIT_CHECK_FAILED
    title = "A data test failed."


class Locked(CsqaError):
    """Another writer (``csqa load`` or ``csqa nightly``) holds ``<db>.lock``."""

    exit_code = EXIT_LOCKED
    title = "Another csqa run holds the lock."


def first_line(e: BaseException) -> str:
    """An error's first line (DuckDB's say what is missing there, and add the query and a caret below)."""
    return (str(e).strip().splitlines() or [""])[0]
