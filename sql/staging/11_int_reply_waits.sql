-- one row per customer wait after the first reply, for interactions in the refresh scope: from the
-- first unanswered customer message to the next counted reply (null while unanswered)
create or replace view staging.int_reply_waits as
with messages as (
    select * from staging.stg_messages_in_scope
    where sender_role = 'customer' or is_counted_reply
),
numbered as (
    select
        interaction_id,
        message_id,
        sender_role,
        is_counted_reply,
        sent_at,
        -- replies strictly before this message
        coalesce(sum(case when is_counted_reply then 1 else 0 end) over (
            partition by interaction_id order by sent_at, message_id
            rows between unbounded preceding and 1 preceding
        ), 0) as replies_before,
    from messages
),
replies as (
    select
        interaction_id,
        sent_at as replied_at,
        row_number() over (partition by interaction_id order by sent_at, message_id) as reply_number,
    from messages
    where is_counted_reply
),
waits as (
    select
        interaction_id,
        replies_before as after_reply_number,
        min(sent_at) as waiting_since_at,
    from numbered
    where sender_role = 'customer' and not is_counted_reply and replies_before >= 1
    group by interaction_id, replies_before
)
select
    w.interaction_id,
    w.after_reply_number,
    w.waiting_since_at,
    r.replied_at,
from waits as w
left join replies as r
    on r.interaction_id = w.interaction_id and r.reply_number = w.after_reply_number + 1
