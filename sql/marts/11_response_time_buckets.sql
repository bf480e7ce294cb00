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
-- each duration's bucket (staging.duration_buckets) from staging.duration_bucket_upper, a CASE over the edges the
-- refresh writes with them: no join. It streams, as the range join did (tests/test_memory.py); an ASOF join sorts
-- the whole probe side in memory and cannot spill it (out of memory at the default 768 MB limit for 2M), and the
-- range join cost four times the CASE (1.7-2.0 s against 0.5 s at 1M; docs/BENCHMARKS.md, sixteenth session)
bucketed as (
    select *
    from (
        select created_day, channel, metric, basis, staging.duration_bucket_upper(seconds) as bucket_upper_seconds
        from measures
    ) as m
    -- a negative duration, or none, is in no bucket
    where bucket_upper_seconds is not null
)
select created_day, channel, metric, basis, bucket_upper_seconds, count(*) as count_interactions
from bucketed
group by created_day, channel, metric, basis, bucket_upper_seconds
