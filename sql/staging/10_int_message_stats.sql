-- one row per interaction in the refresh scope that has message events: first counted reply, reply counts, and
-- the first and last message's send time (kept in the fact table: every stored message of the interaction lies
-- between them, which bounds the next refresh's and the dashboard's reads of its messages)
create or replace view staging.int_message_stats as
with messages as (
    select * from staging.stg_messages_in_scope
),
interactions as (
    select interaction_id, created_at from staging.stg_interactions_in_scope
),
stats as (
    select
        m.interaction_id,
        min(case when m.is_counted_reply and m.sent_at >= i.created_at then m.sent_at end) as first_reply_at,
        count(case when m.is_public_agent_reply then 1 end) as count_agent_replies,
        count(case when m.sender_role = 'customer' then 1 end) as count_customer_messages,
        count(*) as count_messages,
        min(m.sent_at) as first_message_sent_at,
        max(m.sent_at) as last_message_sent_at,
    from messages as m
    inner join interactions as i on i.interaction_id = m.interaction_id
    group by m.interaction_id
)
select * from stats
