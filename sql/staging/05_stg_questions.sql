-- one row per interaction with the customer's question (first message, else subject) and its FAQ language key;
-- DuckDB-only: a table macro for the whole table and for the refresh scope (as staging.stg_interactions)
create or replace macro staging.stg_questions_rows(src) as table
with interactions as (
    select * from query_table(src)
)
select
    interaction_id,
    coalesce(first_message, subject) as question,
    language,
    -- Chinese scripts differ by region (zh-CN vs zh-TW); elsewhere the primary subtag decides (en-US = en)
    case when lower(language) like 'zh%' then language else split_part(language, '-', 1) end as faq_language,
    created_at,
from interactions;
create or replace view staging.stg_questions as select * from staging.stg_questions_rows('staging.stg_interactions');
-- the questions of the refresh scope (staging.refresh_interactions)
create or replace view staging.stg_questions_in_scope as
select * from staging.stg_questions_rows('staging.stg_interactions_in_scope');
