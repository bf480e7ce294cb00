-- one row per published article: weekly contacts before vs after publication, the change and whether it is beyond week-to-week noise
-- refresh: full
with weekly as (
    select * from marts.faq_deflection where is_complete_week
),
sides as (
    select
        article_id,
        topic,
        language,
        published_at,
        count(case when week_offset < 0 then 1 end) as count_weeks_before,
        count(case when week_offset >= 0 then 1 end) as count_weeks_after,
        avg(case when week_offset < 0 then count_contacts end) as mean_weekly_before,
        avg(case when week_offset >= 0 then count_contacts end) as mean_weekly_after,
        var_samp(case when week_offset < 0 then count_contacts end) as var_weekly_before,
        var_samp(case when week_offset >= 0 then count_contacts end) as var_weekly_after,
    from weekly
    group by article_id, topic, language, published_at
),
-- Welch z on weekly counts; the variance floor is the Poisson variance (the mean) so quiet weeks don't fake certainty;
-- a side without a complete week (published just after a hole in the data) has none (Spark would raise)
scored as (
    select
        *,
        (mean_weekly_after - mean_weekly_before) / nullif(sqrt(
            greatest(coalesce(var_weekly_before, 0), mean_weekly_before) / nullif(count_weeks_before, 0)
            + greatest(coalesce(var_weekly_after, 0), mean_weekly_after) / nullif(count_weeks_after, 0)
        ), 0) as z_score,
    from sides
)
select
    article_id,
    topic,
    language,
    published_at,
    count_weeks_before,
    count_weeks_after,
    mean_weekly_before,
    mean_weekly_after,
    (mean_weekly_after - mean_weekly_before) / nullif(mean_weekly_before, 0) as change_rate,
    z_score,
    count_weeks_before >= 2 and count_weeks_after >= 2 and abs(z_score) >= 1.96 as is_beyond_noise,
from scored
