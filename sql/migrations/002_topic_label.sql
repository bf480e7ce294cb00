-- The topic tag as the source wrote it; raw.interactions.topic holds its slug (docs/DATA_CONTRACT.md).
alter table raw.interactions add column if not exists topic_label varchar;
