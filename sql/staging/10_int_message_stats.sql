-- one row per interaction in the refresh scope that has message events: first counted reply (none where an
-- agent's message opened the conversation: is_opened_by_agent), reply counts, and
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
        min(case when m.is_counted_reply and m.sent_at >= i.created_at then m.sent_at end) as first_counted_reply_at,
        min(i.created_at) as created_at,
        count(case when m.is_public_agent_reply then 1 end) as count_agent_replies,
        count(case when m.sender_role = 'customer' then 1 end) as count_customer_messages,
        count(*) as count_messages,
        min(m.sent_at) as first_message_sent_at,
        max(m.sent_at) as last_message_sent_at,
    from messages as m
    inner join interactions as i on i.interaction_id = m.interaction_id
    group by m.interaction_id
),
-- no customer message, and a counted reply at the creation instant: an agent's message opened the conversation
-- (an outbound ticket; a tweet thread whose customer tweet is not in the log, dated from its first message). It is
-- no response, and nobody waits for one (docs/METRICS.md)
opened as (
    select *, count_customer_messages = 0 and first_counted_reply_at = created_at as is_opened_by_agent
    from stats
)
select
    interaction_id,
    case when not is_opened_by_agent then first_counted_reply_at end as first_reply_at,
    is_opened_by_agent,
    count_agent_replies,
    count_customer_messages,
    count_messages,
    first_message_sent_at,
    last_message_sent_at,
from opened
