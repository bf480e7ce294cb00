-- one row per created_day, channel, language and topic: survey and satisfaction counts and score sums
-- refresh: by created_day
with facts as (
    select * from marts.fct_interactions
    where created_day in (select day from staging.refresh_days)
)
select
    created_day,
    channel,
    language,
    coalesce(topic, 'untagged') as topic,
    count(*) as count_interactions,
    cast(sum(count_surveys_sent) as bigint) as count_surveys_sent,
    cast(sum(count_surveys_answered) as bigint) as count_surveys_answered,
    count(csat_score) as count_rated,
    count(case when is_satisfied then 1 end) as count_satisfied,
    cast(sum(csat_score) as bigint) as sum_csat_score,
    cast(sum(csat_score * csat_score) as bigint) as sum_csat_score_squared,
from facts
group by created_day, channel, language, coalesce(topic, 'untagged')
