-- one row per interaction in the refresh scope that has message events: first counted reply and reply counts
create or replace view staging.int_message_stats as
with scope as (
    select interaction_id from staging.refresh_interactions
),
messages as (
    select * from staging.stg_messages where interaction_id in (select interaction_id from scope)
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
    from messages as m
    inner join interactions as i on i.interaction_id = m.interaction_id
    group by m.interaction_id
)
select * from stats
