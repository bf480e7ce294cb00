-- one row per CSAT survey, with whether it was answered and counts as satisfied.
-- DuckDB-only: a table macro for the whole table and the surveys of the refresh scope's interactions (as
-- staging.stg_messages_rows).
create or replace view staging.raw_csat_surveys_in_scope as
select * from raw.csat_surveys
where interaction_id in (select interaction_id from staging.refresh_interactions);
create or replace macro staging.stg_csat_surveys_rows(src) as table
with source as (
    select * from query_table(src)
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
select * from renamed;
create or replace view staging.stg_csat_surveys as select * from staging.stg_csat_surveys_rows('raw.csat_surveys');
create or replace view staging.stg_csat_surveys_in_scope as
select * from staging.stg_csat_surveys_rows('staging.raw_csat_surveys_in_scope');
