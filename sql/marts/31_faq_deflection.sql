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
-- the stretches the data covers: days (UTC) with a contact, a gap of up to 13 days without one on the whole desk
-- bridged (a quiet holiday is demand); a longer gap is a hole in the data, not weeks of no contacts (one stray
-- ticket months before an export starts made the empty weeks between count: docs/FAQ.md, "Deflection")
contact_days as (
    select cast(created_at as date) as day, min(created_at) as first_at, max(created_at) as last_at
    from marts.fct_interactions
    group by cast(created_at as date)
),
stretch_starts as (
    select
        day,
        first_at,
        last_at,
        case when day > lag(day) over (order by day) + interval 14 day then 1 else 0 end as is_start,
    from contact_days
),
stretch_ids as (
    select first_at, last_at, sum(is_start) over (order by day rows between unbounded preceding and current row)
        as stretch
    from stretch_starts
),
stretches as (
    select stretch, min(first_at) as first_at, max(last_at) as last_at
    from stretch_ids
    group by stretch
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
-- a week past the data, before it or in a hole of it is not a week with no contacts: it must lie wholly inside one
-- stretch
marked_weeks as (
    select
        w.*,
        exists (
            select 1 from stretches as st
            where w.published_at + to_days(7 * w.week_offset) >= st.first_at
                and w.published_at + to_days(7 * w.week_offset + 7) <= st.last_at
        ) as is_complete_week,
    from weeks as w
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
    w.is_complete_week,
from marked_weeks as w
left join facts as f
    on f.topic = w.topic and f.faq_language = w.faq_language
    and f.created_at >= w.published_at + to_days(7 * w.week_offset)
    and f.created_at < w.published_at + to_days(7 * w.week_offset + 7)
group by all
