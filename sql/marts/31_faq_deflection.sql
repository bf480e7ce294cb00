-- one row per published article and week relative to its publication: contacts on its topic and language
-- refresh: full
with settings as (
    select * from staging.settings
),
articles as (
    select
        article_id,
        topic,
        language,
        case when lower(language) like 'zh%' then language else split_part(language, '-', 1) end as faq_language,
        published_at,
    from staging.stg_faq_articles
    where is_published and published_at is not null
),
bounds as (
    select min(created_at) as first_at, max(created_at) as last_at from marts.fct_interactions
),
-- only articles published inside the data, with at least one whole week on each side
measurable as (
    select a.*
    from articles as a cross join bounds as b
    where a.published_at >= b.first_at + interval 7 day and a.published_at <= b.last_at - interval 7 day
),
-- DuckDB-only: range() makes the week offsets (Spark: sequence())
weeks as (
    select m.article_id, m.topic, m.faq_language, m.published_at, cast(r.range as integer) as week_offset
    from measurable as m cross join settings as s,
         range(-s.faq_deflection_weeks, s.faq_deflection_weeks) as r
),
facts as (
    select
        topic,
        case when lower(language) like 'zh%' then language else split_part(language, '-', 1) end as faq_language,
        created_at,
    from marts.fct_interactions
    where topic is not null
)
select
    w.article_id,
    w.topic,
    w.faq_language as language,
    w.published_at,
    w.week_offset,
    w.published_at + to_days(7 * w.week_offset) as week_start_at,
    count(f.created_at) as count_contacts,
    -- a week past the data is not a week with no contacts
    (w.published_at + to_days(7 * w.week_offset + 7)) <= (select last_at from bounds)
        and (w.published_at + to_days(7 * w.week_offset)) >= (select first_at from bounds) as is_complete_week,
from weeks as w
left join facts as f
    on f.topic = w.topic and f.faq_language = w.faq_language
    and f.created_at >= w.published_at + to_days(7 * w.week_offset)
    and f.created_at < w.published_at + to_days(7 * w.week_offset + 7)
group by all
