-- one row per created_day, channel and priority: SLA outcomes for first response and resolution
-- refresh: by created_day
with facts as (
    select * from marts.fct_interactions
    where created_day in (select day from staging.refresh_days)
)
select
    created_day,
    channel,
    priority,
    count(*) as count_interactions,
    count(case when first_response_sla_status = 'met' then 1 end) as count_first_response_met,
    count(case when first_response_sla_status = 'breached' then 1 end) as count_first_response_breached,
    count(case when first_response_sla_status = 'open' then 1 end) as count_first_response_open,
    count(case when first_response_sla_status = 'not_applicable' then 1 end) as count_first_response_not_applicable,
    count(case when first_response_sla_status = 'unknown' then 1 end) as count_first_response_unknown,
    count(case when resolution_sla_status = 'met' then 1 end) as count_resolution_met,
    count(case when resolution_sla_status = 'breached' then 1 end) as count_resolution_breached,
    count(case when resolution_sla_status = 'open' then 1 end) as count_resolution_open,
    count(case when resolution_sla_status = 'unknown' then 1 end) as count_resolution_unknown,
from facts
group by created_day, channel, priority
