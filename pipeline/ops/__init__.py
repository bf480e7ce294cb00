"""Operations: the unattended nightly job (``nightly``), read-only snapshots for readers (``snapshots``),
``csqa status`` (``status``) and analysts' read-only SQL access (``sqlshell``)."""
