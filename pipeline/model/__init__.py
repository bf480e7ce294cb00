"""Model: the DuckDB warehouse and its migrations (``warehouse``), business time (``business_time``), the
staging and marts refresh (``marts``) and the data tests (``checks``)."""
