-- one row per day and channel from the first created day to the as-of day: interactions open at the end of the day
-- refresh: full
-- reads the two daily rollups (created per channel_response_times, resolved per resolved_daily), never the fact
-- table: its cost is days x channels, whatever the warehouse's size
with created as (
    select created_day as day, channel, count_interactions as n from marts.channel_response_times
),
resolved as (
    select resolved_day as day, channel, count_resolved as n from marts.resolved_daily
),
bounds as (
    select min(c.day) as first_day, max(cast(timezone(s.reporting_timezone, s.as_of_at) as date)) as last_day
    from created as c cross join staging.settings as s
),
-- DuckDB-only: range() makes the day series (Spark: sequence())
days as (
    select cast(r.range as date) as day
    from bounds as b, range(b.first_day, b.last_day + interval 1 day, interval 1 day) as r
),
channels as (
    select distinct channel from created
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
