"""Ingest: read files (``read``), type, redact and check them against the data contract (``contract``,
``validate``, ``privacy``), sketch a source mapping (``stub``) and load a batch into the warehouse (``load``)."""
