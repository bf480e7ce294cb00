-- one row per message event, with whether it counts as a reply (stops a response clock).
-- DuckDB-only: a table macro (as staging.stg_interactions_rows) for the whole table (staging.stg_messages) and the
-- messages of the refresh scope's interactions (staging.stg_messages_in_scope, from staging.raw_messages_in_scope):
-- an incremental refresh points that view at the scope's messages read once, bounded by their stored send times
-- (pipeline/model/marts.py), instead of comparing every stored message's interaction id at each read.
create or replace view staging.raw_messages_in_scope as
select * from raw.messages
where interaction_id in (select interaction_id from staging.refresh_interactions);
create or replace macro staging.stg_messages_rows(src) as table
with source as (
    select * from query_table(src)
),
settings as (
    select * from staging.settings
),
renamed as (
    select
        m.message_id,
        m.interaction_id,
        m.sender_role,
        m.sent_at,
        m.is_public,
        m.text,
        (
            (m.sender_role = 'agent' or (m.sender_role = 'bot' and st.count_bot_replies))
            and (m.is_public or st.count_private_notes)
        ) as is_counted_reply,
        m.sender_role = 'agent' and m.is_public as is_public_agent_reply,
    from source as m
    cross join settings as st
)
select * from renamed;
create or replace view staging.stg_messages as select * from staging.stg_messages_rows('raw.messages');
create or replace view staging.stg_messages_in_scope as
select * from staging.stg_messages_rows('staging.raw_messages_in_scope');
