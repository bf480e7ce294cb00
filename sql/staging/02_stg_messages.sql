-- one row per message event, with whether it counts as a reply (stops a response clock)
create or replace view staging.stg_messages as
with source as (
    select * from raw.messages
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
select * from renamed
