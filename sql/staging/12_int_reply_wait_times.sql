-- one row per interaction with reply waits: count, sum and max of next-reply times, calendar and business
create or replace view staging.int_reply_wait_times as
with waits as (
    select * from staging.int_reply_waits
),
interactions as (
    select interaction_id, channel, priority from staging.stg_interactions_in_scope
),
targets as (
    select * from staging.sla_targets
),
scheduled as (
    select w.*, t.schedule
    from waits as w
    inner join interactions as i on i.interaction_id = w.interaction_id
    inner join targets as t on t.channel = i.channel and t.priority = i.priority
),
-- DuckDB-only: ASOF join finds the open interval at or before each instant (Spark: a range join)
clocked as (
    select
        s.interaction_id,
        s.replied_at,
        epoch(s.replied_at) - epoch(s.waiting_since_at) as next_reply_seconds,
        (cr.cum_seconds + least(greatest(epoch(s.replied_at) - epoch(cr.open_at), 0), cr.seconds))
        - (cw.cum_seconds + least(greatest(epoch(s.waiting_since_at) - epoch(cw.open_at), 0), cw.seconds))
            as next_reply_business_seconds,
    from scheduled as s
    asof left join staging.business_calendar as cw
        on cw.schedule = s.schedule and s.waiting_since_at >= cw.open_at
    asof left join staging.business_calendar as cr
        on cr.schedule = s.schedule and s.replied_at >= cr.open_at
)
select
    interaction_id,
    count(*) as count_reply_waits,
    count(replied_at) as count_next_replies,
    sum(next_reply_seconds) as sum_next_reply_seconds,
    max(next_reply_seconds) as max_next_reply_seconds,
    sum(next_reply_business_seconds) as sum_next_reply_business_seconds,
    max(next_reply_business_seconds) as max_next_reply_business_seconds,
from clocked
group by interaction_id
