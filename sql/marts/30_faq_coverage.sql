-- one row per topic and FAQ language over the last faq.window_days of data: contacts, article coverage, match rate, CSAT, repeat contacts
-- refresh: full
with settings as (
    select * from staging.settings
),
-- the window's contacts that are not repeated: a contact is repeated when the same customer comes back on the same
-- topic within 7 days (the next contact comes after the first one, so it is inside the window too). Most contacts
-- are repeated, so the others are the fewer to keep: an incremental refresh reads them from
-- staging.faq_single_contacts instead, kept by the scope's change (pipeline/model/repeat_contacts.py); a full one
-- stores this query's rows there
single as (
    select interaction_id, customer_id, topic, created_at
    from (
        select
            f.interaction_id,
            f.customer_id,
            f.topic,
            f.created_at,
            lead(f.created_at) over (partition by f.customer_id, f.topic order by f.created_at, f.interaction_id)
                <= f.created_at + interval 7 day as is_repeated,
        from marts.fct_interactions as f
        cross join settings as s
        where f.topic is not null and f.created_at > s.as_of_at - to_days(s.faq_window_days)
    )
    where is_repeated is not true
),
windowed as (
    select
        f.*,
        case when lower(f.language) like 'zh%' then f.language else split_part(f.language, '-', 1) end
            as faq_language,
        o.interaction_id is null as is_repeated,
    from marts.fct_interactions as f
    cross join settings as s
    left join single as o on o.interaction_id = f.interaction_id
    where f.topic is not null and f.created_at > s.as_of_at - to_days(s.faq_window_days)
),
articles as (
    select
        topic,
        case when lower(language) like 'zh%' then language else split_part(language, '-', 1) end as faq_language,
    from staging.stg_faq_articles
    where is_published
),
totals as (
    select count(*) as count_all from windowed
),
grouped as (
    select
        w.topic,
        w.faq_language as language,
        count(*) as count_contacts,
        count(case when w.created_at > s.as_of_at - interval 7 day then 1 end) as count_last_7d,
        count(case when w.created_at <= s.as_of_at - interval 7 day
                    and w.created_at > s.as_of_at - interval 14 day then 1 end) as count_prev_7d,
        count(case when w.is_faq_matched then 1 end) as count_matched,
        count(w.csat_score) as count_rated,
        count(case when w.is_satisfied then 1 end) as count_satisfied,
        count(case when w.is_repeated then 1 end) as count_repeated,
    from windowed as w
    cross join settings as s
    group by w.topic, w.faq_language
)
select
    g.topic,
    g.language,
    g.count_contacts,
    g.count_contacts / t.count_all as contact_share,
    g.count_last_7d,
    g.count_prev_7d,
    exists (select 1 from articles as a where a.topic = g.topic and a.faq_language = g.language)
        as has_article_in_language,
    exists (select 1 from articles as a where a.topic = g.topic) as has_article_any_language,
    g.count_matched,
    g.count_matched / g.count_contacts as match_rate,
    g.count_rated,
    g.count_satisfied,
    g.count_satisfied / nullif(g.count_rated, 0) as satisfied_share,
    g.count_repeated,
    g.count_repeated / g.count_contacts as repeat_contact_rate,
from grouped as g
cross join totals as t
