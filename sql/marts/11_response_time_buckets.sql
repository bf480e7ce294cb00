-- one row per created_day, channel, metric, time basis and duration bucket: how many interactions fell in it
-- refresh: by created_day
with facts as (
    select * from marts.fct_interactions
    where created_day in (select day from staging.refresh_days)
),
measures as (
    select created_day, channel, 'first_response' as metric, 'calendar' as basis, first_response_seconds as seconds
    from facts
    union all
    select created_day, channel, 'first_response', 'business', first_response_business_seconds from facts
    union all
    select created_day, channel, 'resolution', 'calendar', resolution_seconds from facts
    union all
    select created_day, channel, 'resolution', 'business', resolution_business_seconds from facts
),
-- a range join on the 20 buckets, not an ASOF join: DuckDB's ASOF join sorts the whole probe side in memory
-- and cannot spill it (about 0.9 GB for 1M interactions, out of memory at the default 768 MB limit for 2M);
-- this join streams (tests/test_memory.py)
bucketed as (
    select m.created_day, m.channel, m.metric, m.basis, b.upper_seconds as bucket_upper_seconds
    from (select * from measures where seconds is not null) as m
    inner join staging.duration_buckets as b on m.seconds >= b.lower_seconds and m.seconds < b.upper_seconds
)
select created_day, channel, metric, basis, bucket_upper_seconds, count(*) as count_interactions
from bucketed
group by created_day, channel, metric, basis, bucket_upper_seconds
