-- one row per FAQ article and language
create or replace view staging.stg_faq_articles as
with source as (
    select * from raw.faq_articles
),
renamed as (
    select
        article_id,
        topic,
        language,
        title,
        body,
        status,
        status = 'published' as is_published,
        published_at,
        updated_at,
    from source
)
select * from renamed
