-- one row per created_day, channel, language, region and team: the counts behind the dashboard's KPI cards
-- refresh: by created_day
-- the cards (dashboard/data.py kpis) sum these rows over the days and filter values in view instead of counting
-- the fact table's rows (counts, never averages: every rate is a sum over a sum); region and team as the dashboard
-- filters on them (missing ones named). Topic is not a column (it would make the mart five times larger): a view
-- filtered on topic counts on the fact table. An incremental refresh updates the counts by the scope's change
-- (pipeline/model/marts.py _BY_DELTA), which equals a recount of the days.
with facts as (
    select * from marts.fct_interactions
    where created_day in (select day from staging.refresh_days)
)
select
    created_day,
    channel,
    language,
    coalesce(region, 'unknown') as region,
    coalesce(team, 'unassigned') as team,
    count(*) as count_interactions,
    count(case when resolution_sla_status = 'met' then 1 end) as count_resolution_met,
    count(case when resolution_sla_status = 'breached' then 1 end) as count_resolution_breached,
    count(case when reopen_count > 0 then 1 end) as count_reopened,
    count(case when is_resolved or reopen_count > 0 then 1 end) as count_reopen_eligible,
    count(case when is_one_touch then 1 end) as count_one_touch,
    count(case when is_resolved then is_one_touch end) as count_one_touch_eligible,
    count(case when first_response_sla_status = 'met' then 1 end) as count_first_response_met,
    count(case when first_response_sla_status = 'breached' then 1 end) as count_first_response_breached,
    count(case when first_response_sla_status = 'unknown' or resolution_sla_status = 'unknown' then 1 end)
        as count_sla_unknown,
    count(csat_score) as count_rated,
    count(case when is_satisfied then 1 end) as count_satisfied
from facts
group by created_day, channel, language, coalesce(region, 'unknown'), coalesce(team, 'unassigned')
