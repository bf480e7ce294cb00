-- one row per resolved_day and channel: interactions resolved that day (feeds marts.backlog_daily)
-- refresh: by resolved_day
select
    resolved_day,
    channel,
    count(*) as count_resolved,
from marts.fct_interactions
where is_resolved and resolved_day in (select day from staging.refresh_resolved_days)
group by resolved_day, channel
