-- one row per FAQ gap, ranked for the content team (priority_rank 1 = write this first)
-- refresh: full
with settings as (
    select * from staging.settings
),
coverage as (
    select * from marts.faq_coverage
),
overall as (
    select sum(count_satisfied) / nullif(sum(count_rated), 0) as satisfied_share from coverage
),
topic_totals as (
    select
        topic,
        sum(count_contacts) as count_contacts,
        sum(count_last_7d) as count_last_7d,
        sum(count_prev_7d) as count_prev_7d,
        sum(count_rated) as count_rated,
        sum(count_satisfied) as count_satisfied,
        bool_or(has_article_any_language) as has_article,
    from coverage
    group by topic
),
gaps as (
    select 'no_article' as gap_type, topic, cast(null as varchar) as language, cast(null as varchar) as cluster_id,
           count_contacts, count_last_7d, count_prev_7d, count_rated, count_satisfied
    from topic_totals where not has_article
    union all
    select 'missing_translation', topic, language, null, count_contacts, count_last_7d, count_prev_7d,
           count_rated, count_satisfied
    from coverage where has_article_any_language and not has_article_in_language
    union all
    select 'article_not_deflecting', c.topic, c.language, null, c.count_contacts, c.count_last_7d, c.count_prev_7d,
           c.count_rated, c.count_satisfied
    from coverage as c cross join overall as o cross join settings as s
    where c.has_article_in_language and c.count_rated >= s.min_sample
      and c.count_satisfied / c.count_rated < o.satisfied_share - s.faq_low_csat_margin
    union all
    -- only clusters judged as gaps: cohesive, and far from every article and covered tag (pipeline/faq/clusters.py)
    select 'unmatched_cluster', null, k.language, k.cluster_id, k.count_questions, k.count_last_7d, k.count_prev_7d,
           k.count_rated, k.count_satisfied
    from marts.faq_clusters as k
    where k.is_gap
),
question_counts as (
    select
        f.topic,
        case when lower(f.language) like 'zh%' then f.language else split_part(f.language, '-', 1) end as language,
        coalesce(f.first_message, f.subject) as question,
        count(*) as n,
    from marts.fct_interactions as f cross join settings as s
    where f.topic is not null and coalesce(f.first_message, f.subject) is not null
      and f.created_at > s.as_of_at - to_days(s.faq_window_days)
    group by all
),
examples as (
    select topic, language, list(question order by n desc, question)[1:3] as example_questions
    from question_counts
    group by topic, language
),
-- a topic's examples over every language: a question asked in several languages (English written by customers
-- of other languages) is one example, counted once with all its askings
topic_examples as (
    select topic, list(question order by n desc, question)[1:3] as example_questions
    from (select topic, question, sum(n) as n from question_counts group by all)
    group by topic
),
scored as (
    select
        g.*,
        g.count_satisfied / nullif(g.count_rated, 0) as satisfied_share,
        least(greatest((g.count_last_7d + 1.0) / (g.count_prev_7d + 1.0), 0.5), 3.0) as trend_factor,
        1 + (1 - coalesce(g.count_satisfied / nullif(g.count_rated, 0), o.satisfied_share, 0.5)) as dissatisfaction_factor,
        -- a cluster counts as much as it is coherent and unanswered (pipeline/faq/clusters.py: rank_factor)
        coalesce(k.rank_factor, 1.0) as cluster_factor,
    from gaps as g
    cross join overall as o
    left join marts.faq_clusters as k on k.cluster_id = g.cluster_id
)
select
    row_number() over (order by s.count_contacts * s.trend_factor * s.dissatisfaction_factor * s.cluster_factor desc,
                       s.gap_type, s.topic, s.language, s.cluster_id) as priority_rank,
    s.gap_type,
    s.topic,
    s.language,
    s.cluster_id,
    cast(s.count_contacts as bigint) as count_contacts,
    cast(s.count_last_7d as bigint) as count_last_7d,
    cast(s.count_prev_7d as bigint) as count_prev_7d,
    cast(s.count_rated as bigint) as count_rated,
    s.satisfied_share,
    s.trend_factor,
    s.dissatisfaction_factor,
    s.cluster_factor,
    round(s.count_contacts * s.trend_factor * s.dissatisfaction_factor * s.cluster_factor, 2) as priority_score,
    k.nearest_article_id,
    k.nearest_similarity,
    k.title_terms as suggested_title_terms,
    coalesce(
        case when s.gap_type = 'unmatched_cluster' then
            [k.example_1]
            || case when k.example_2 is not null then [k.example_2] else [] end
            || case when k.example_3 is not null then [k.example_3] else [] end
        end,
        e.example_questions,
        te.example_questions
    ) as example_questions,
from scored as s
left join marts.faq_clusters as k on k.cluster_id = s.cluster_id
left join examples as e on e.topic = s.topic and e.language = s.language
left join topic_examples as te on te.topic = s.topic and s.language is null
