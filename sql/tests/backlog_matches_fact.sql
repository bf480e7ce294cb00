-- the backlog at the end of each day equals the interactions created by then and not resolved by then
with fact as (select channel, created_day, resolved_day, is_resolved from marts.fct_interactions)
select b.day, b.channel
from marts.backlog_daily as b
where b.count_open_at_end <> (
    select count(*) from fact as f
    where f.channel = b.channel and f.created_day <= b.day
      and (not f.is_resolved or f.resolved_day > b.day)
)
