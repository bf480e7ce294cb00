-- one row per CSAT survey, with whether it was answered and counts as satisfied
create or replace view staging.stg_csat_surveys as
with source as (
    select * from raw.csat_surveys
),
settings as (
    select * from staging.settings
),
renamed as (
    select
        c.survey_id,
        c.interaction_id,
        c.sent_at,
        c.responded_at,
        c.score as csat_score,
        c.comment,
        c.score is not null as is_answered,
        c.score is not null and c.score >= st.satisfied_threshold as is_satisfied,
    from source as c
    cross join settings as st
)
select * from renamed
