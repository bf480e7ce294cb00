-- marts.filter_values holds, for every created day, each filter's values and counts as in the fact table
-- (the dashboard's filter options and date bounds come from it)
with fact as (
    select created_day, 'channel' as filter_name, channel as value, count(*) as n
    from marts.fct_interactions group by all
    union all
    select created_day, 'language', language, count(*) from marts.fct_interactions group by all
    union all
    select created_day, 'region', coalesce(region, 'unknown'), count(*) from marts.fct_interactions group by all
    union all
    select created_day, 'topic', coalesce(topic, 'untagged'), count(*) from marts.fct_interactions group by all
    union all
    select created_day, 'team', coalesce(team, 'unassigned'), count(*) from marts.fct_interactions group by all
)
select coalesce(f.created_day, v.created_day) as created_day, coalesce(f.filter_name, v.filter_name) as filter_name,
       coalesce(f.value, v.value) as value, f.n as fact_count, v.count_interactions as mart_count
from fact as f
full join marts.filter_values as v
    on v.created_day = f.created_day and v.filter_name = f.filter_name and v.value = f.value
where f.n is distinct from v.count_interactions
