-- one row per interaction with the customer's question (first message, else subject) and its FAQ language key
create or replace view staging.stg_questions as
with interactions as (
    select * from staging.stg_interactions
)
select
    interaction_id,
    coalesce(first_message, subject) as question,
    language,
    -- Chinese scripts differ by region (zh-CN vs zh-TW); elsewhere the primary subtag decides (en-US = en)
    case when lower(language) like 'zh%' then language else split_part(language, '-', 1) end as faq_language,
    created_at,
from interactions
