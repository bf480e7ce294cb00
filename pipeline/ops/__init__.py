"""Operations: the unattended nightly job (``nightly``), read-only snapshots for readers (``snapshots``),
``csqa status`` (``status``), analysts' read-only SQL access (``sqlshell``) and the Parquet lake read through
DuckDB, with ``csqa export --lake`` (``lake``)."""
