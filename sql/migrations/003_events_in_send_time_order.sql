-- Messages and surveys in send-time order, as every load now writes each batch's (pipeline/ingest/load.py,
-- _WRITE_ORDER): a refresh reads the stored events of its scope, and the dashboard a conversation's, within send
-- times, which skips only the row groups whose zone map of sent_at lies outside them. Rows stored before that rule
-- are rewritten once here, in that order (a backfill's row groups each spanned all its files' times). The tables
-- are declared as in 001_base.sql.
create table raw._messages_sorted (
    message_id varchar not null,
    interaction_id varchar not null,
    sender_role varchar not null,
    sent_at timestamptz not null,
    is_public boolean not null,
    text varchar,                          -- redacted
    _batch_id bigint not null,
    _source_file varchar not null,
    _row_number bigint not null
);
insert into raw._messages_sorted select * from raw.messages order by sent_at;
drop table raw.messages;
alter table raw._messages_sorted rename to messages;
create table raw._csat_surveys_sorted (
    survey_id varchar not null,
    interaction_id varchar not null,
    sent_at timestamptz not null,
    responded_at timestamptz,
    score integer,
    comment varchar,                       -- redacted
    updated_at timestamptz not null,       -- coalesce(responded_at, sent_at): an answer beats no answer
    _batch_id bigint not null,
    _source_file varchar not null,
    _row_number bigint not null
);
insert into raw._csat_surveys_sorted select * from raw.csat_surveys order by sent_at;
drop table raw.csat_surveys;
alter table raw._csat_surveys_sorted rename to csat_surveys;
