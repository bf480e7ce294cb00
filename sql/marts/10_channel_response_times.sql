-- one row per channel and created_day: re-aggregable counts and sums of response and resolution times
-- refresh: by created_day
with facts as (
    select * from marts.fct_interactions
    where created_day in (select day from staging.refresh_days)
)
select
    created_day,
    channel,
    count(*) as count_interactions,
    count(case when handled_by_bot then 1 end) as count_bot_handled,
    count(first_response_seconds) as count_first_responses,
    sum(first_response_seconds) as sum_first_response_seconds,
    sum(first_response_business_seconds) as sum_first_response_business_seconds,
    count(resolution_seconds) as count_resolved,
    sum(resolution_seconds) as sum_resolution_seconds,
    sum(resolution_business_seconds) as sum_resolution_business_seconds,
    cast(sum(count_next_replies) as bigint) as count_next_replies,
    sum(sum_next_reply_seconds) as sum_next_reply_seconds,
    sum(sum_next_reply_business_seconds) as sum_next_reply_business_seconds,
    count(case when is_one_touch then 1 end) as count_one_touch,
    count(case when is_resolved and count_messages is not null then 1 end) as count_one_touch_eligible,
    count(case when reopen_count > 0 then 1 end) as count_reopened,
from facts
group by created_day, channel
