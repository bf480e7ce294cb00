-- marts.kpi_daily holds, for every created day, channel, language, region and team, the fact table's counts
-- (the dashboard's KPI cards sum them)
with fact as (
    select created_day, channel, language, coalesce(region, 'unknown') as region, coalesce(team, 'unassigned') as team,
           count(*) as n,
           count(*) filter (where resolution_sla_status = 'met') as res_met,
           count(*) filter (where resolution_sla_status = 'breached') as res_breached,
           count(*) filter (where reopen_count > 0) as reopened,
           count(*) filter (where is_resolved or reopen_count > 0) as reopen_eligible,
           count(*) filter (where is_one_touch) as one_touch,
           count(is_one_touch) filter (where is_resolved) as one_touch_eligible,
           count(*) filter (where first_response_sla_status = 'met') as fr_met,
           count(*) filter (where first_response_sla_status = 'breached') as fr_breached,
           count(*) filter (where first_response_sla_status = 'unknown' or resolution_sla_status = 'unknown')
               as sla_unknown,
           count(csat_score) as rated,
           count(*) filter (where is_satisfied) as satisfied
    from marts.fct_interactions group by all
)
select coalesce(f.created_day, k.created_day) as created_day, coalesce(f.channel, k.channel) as channel,
       coalesce(f.language, k.language) as language, coalesce(f.region, k.region) as region,
       coalesce(f.team, k.team) as team, f.n as fact_count, k.count_interactions as mart_count
from fact as f
full join marts.kpi_daily as k
    on k.created_day = f.created_day and k.channel = f.channel and k.language is not distinct from f.language
   and k.region = f.region and k.team = f.team
where f.n is distinct from k.count_interactions
   or f.res_met is distinct from k.count_resolution_met
   or f.res_breached is distinct from k.count_resolution_breached
   or f.reopened is distinct from k.count_reopened
   or f.reopen_eligible is distinct from k.count_reopen_eligible
   or f.one_touch is distinct from k.count_one_touch
   or f.one_touch_eligible is distinct from k.count_one_touch_eligible
   or f.fr_met is distinct from k.count_first_response_met
   or f.fr_breached is distinct from k.count_first_response_breached
   or f.sla_unknown is distinct from k.count_sla_unknown
   or f.rated is distinct from k.count_rated
   or f.satisfied is distinct from k.count_satisfied
