-- the daily rollups sum to the fact table, day by day
with fact as (
    select created_day, channel, count(*) as n, count(first_response_seconds) as n_frt,
           coalesce(sum(first_response_seconds), 0) as s_frt, count(csat_score) as n_rated
    from marts.fct_interactions group by all
),
crt as (
    select created_day, channel, sum(count_interactions) as n, sum(count_first_responses) as n_frt,
           coalesce(sum(sum_first_response_seconds), 0) as s_frt
    from marts.channel_response_times group by all
),
sla as (
    select created_day, channel, sum(count_interactions) as n from marts.sla_compliance group by all
),
csat as (
    select created_day, channel, sum(count_interactions) as n, sum(count_rated) as n_rated
    from marts.csat_daily group by all
),
buckets as (
    select created_day, channel, sum(count_interactions) as n_frt
    from marts.response_time_buckets where metric = 'first_response' and basis = 'calendar' group by all
)
select f.created_day, f.channel
from fact as f
left join crt as c using (created_day, channel)
left join sla as s using (created_day, channel)
left join csat as t using (created_day, channel)
left join buckets as b using (created_day, channel)
where c.n is distinct from f.n
   or c.n_frt is distinct from f.n_frt
   or abs(c.s_frt - f.s_frt) > 0.001
   or s.n is distinct from f.n
   or t.n is distinct from f.n
   or t.n_rated is distinct from f.n_rated
   or coalesce(b.n_frt, 0) is distinct from f.n_frt
