-- one row per created_day, dashboard filter and value: the values each filter offers (the dashboard's filter
-- options are the distinct values over all days, read from here instead of a scan of the whole fact table)
-- refresh: by created_day
with facts as (
    select * from marts.fct_interactions
    where created_day in (select day from staging.refresh_days)
)
-- the values as the dashboard filters on them (dashboard/data.py FILTER_COLUMNS): missing ones named
select created_day, 'channel' as filter_name, channel as value, count(*) as count_interactions
from facts group by all
union all
select created_day, 'language', language, count(*) from facts group by all
union all
select created_day, 'region', coalesce(region, 'unknown'), count(*) from facts group by all
union all
select created_day, 'topic', coalesce(topic, 'untagged'), count(*) from facts group by all
union all
select created_day, 'team', coalesce(team, 'unassigned'), count(*) from facts group by all
