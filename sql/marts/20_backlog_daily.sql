-- one row per day and channel from the first created day to the as-of day: interactions open at the end of the day
-- refresh: full
with facts as (
    select channel, created_day, resolved_day, is_resolved from marts.fct_interactions
),
bounds as (
    select min(created_day) as first_day, max(cast(timezone(s.reporting_timezone, s.as_of_at) as date)) as last_day
    from facts cross join staging.settings as s
),
-- DuckDB-only: range() makes the day series (Spark: sequence())
days as (
    select cast(r.range as date) as day
    from bounds as b, range(b.first_day, b.last_day + interval 1 day, interval 1 day) as r
),
channels as (
    select distinct channel from facts
),
created as (
    select created_day as day, channel, count(*) as n from facts group by created_day, channel
),
resolved as (
    select resolved_day as day, channel, count(*) as n from facts where is_resolved group by resolved_day, channel
),
daily as (
    select
        d.day,
        c.channel,
        coalesce(cr.n, 0) as count_created,
        coalesce(rs.n, 0) as count_resolved,
    from days as d
    cross join channels as c
    left join created as cr on cr.day = d.day and cr.channel = c.channel
    left join resolved as rs on rs.day = d.day and rs.channel = c.channel
)
select
    day,
    channel,
    count_created,
    count_resolved,
    cast(sum(count_created - count_resolved) over (
        partition by channel order by day rows between unbounded preceding and current row
    ) as bigint) as count_open_at_end,
from daily
