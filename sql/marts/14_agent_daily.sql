-- one row per created_day and agent: workload, response and resolution sums, SLA, one-touch, reopen and CSAT counts
-- refresh: by created_day
-- attribution: an interaction counts for its agent_id as delivered (the agent on it at export time), on its created_day;
-- bot-handled and unassigned interactions belong to no agent (docs/METRICS.md, agent attribution)
with facts as (
    select * from marts.fct_interactions
    where created_day in (select day from staging.refresh_days) and agent_id is not null
)
select
    created_day,
    agent_id,
    count(*) as count_interactions,
    count(first_response_seconds) as count_first_responses,
    sum(first_response_seconds) as sum_first_response_seconds,
    sum(first_response_business_seconds) as sum_first_response_business_seconds,
    count(resolution_seconds) as count_resolved,
    sum(resolution_seconds) as sum_resolution_seconds,
    sum(resolution_business_seconds) as sum_resolution_business_seconds,
    count(case when first_response_sla_status = 'met' then 1 end) as count_first_response_met,
    count(case when first_response_sla_status = 'breached' then 1 end) as count_first_response_breached,
    count(case when is_one_touch then 1 end) as count_one_touch,
    count(case when is_resolved and count_messages is not null then 1 end) as count_one_touch_eligible,
    count(case when reopen_count > 0 then 1 end) as count_reopened,
    count(case when is_resolved or reopen_count > 0 then 1 end) as count_reopen_eligible,
    count(csat_score) as count_rated,
    count(case when is_satisfied then 1 end) as count_satisfied,
    cast(sum(csat_score) as bigint) as sum_csat_score,
from facts
group by created_day, agent_id
