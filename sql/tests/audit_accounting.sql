-- every record read is loaded, quarantined or a duplicate
select batch_id, source_file from audit.load_batches
where rows_read <> rows_loaded + rows_quarantined + rows_duplicate
