-- Base schemas and the validated raw tables: one row per entity's natural key.
-- raw.* hold validated, redacted, pseudonymised rows; the newest updated_at wins on upsert.
create schema if not exists raw;
create schema if not exists audit;
create schema if not exists staging;
create schema if not exists marts;

create table if not exists raw.interactions (
    interaction_id varchar not null,
    channel varchar not null,
    created_at timestamptz not null,
    first_response_at timestamptz,
    resolved_at timestamptz,
    status varchar not null,
    priority varchar not null,
    customer_id varchar not null,          -- keyed hash (HMAC-SHA256), never the source id
    agent_id varchar,
    team varchar,
    language varchar not null,
    region varchar,
    topic varchar,
    subject varchar,                       -- redacted
    first_message varchar,                 -- redacted
    handled_by_bot boolean not null,
    reopen_count integer not null,
    updated_at timestamptz not null,
    _batch_id bigint not null,
    _source_file varchar not null,
    _row_number bigint not null
);

create table if not exists raw.messages (
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

create table if not exists raw.csat_surveys (
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

create table if not exists raw.faq_articles (
    article_id varchar not null,
    topic varchar not null,
    language varchar not null,
    title varchar not null,
    body varchar,
    status varchar not null,
    published_at timestamptz,
    updated_at timestamptz not null,
    _batch_id bigint not null,
    _source_file varchar not null,
    _row_number bigint not null
);

-- one row per file per load batch
create table if not exists audit.load_batches (
    batch_id bigint not null,
    source_file varchar not null,
    sha256 varchar,
    entity varchar,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    status varchar not null,               -- loaded | rejected
    rows_read bigint not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    rows_duplicate bigint not null,
    error varchar,
    notes varchar
);

-- one row per failed check of a quarantined input row
create table if not exists audit.quarantine (
    batch_id bigint not null,
    source_file varchar not null,
    entity varchar not null,
    row_number bigint not null,            -- 1-based record number in the file, header excluded
    column_name varchar,                   -- null for a record that could not be split into fields
    check_name varchar not null,
    failing_value varchar,                 -- redacted like the stored text
    raw_row varchar not null               -- the record as JSON (text columns redacted)
);
