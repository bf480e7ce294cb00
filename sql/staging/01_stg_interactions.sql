-- one row per interaction, as loaded (validated, redacted), with the reporting day.
-- DuckDB-only: a table macro over a source relation (query_table), so the same definition serves the whole table
-- (staging.stg_interactions, from raw.interactions) and the refresh scope (staging.stg_interactions_in_scope, from
-- staging.raw_interactions_in_scope, filtered on raw.interactions itself): filtered after the day conversions, a
-- nightly refresh converted every stored row's days (4 of its 5 seconds at 10M rows).
-- Spark: a function taking the DataFrame, called on the table and on the scope's rows.
create or replace view staging.raw_interactions_in_scope as
select * from raw.interactions
where interaction_id in (select interaction_id from staging.refresh_interactions);
create or replace macro staging.stg_interactions_rows(src) as table
with source as (
    select * from query_table(src)
),
settings as (
    select * from staging.settings
),
status_classes as (
    -- what each configured status means (contract.status_classes): open, pending, resolved or closed
    select * from staging.status_classes
),
renamed as (
    select
        s.interaction_id,
        s.channel,
        s.priority,
        s.status,
        sc.status_class,
        coalesce(sc.status_class in ('resolved', 'closed'), false) as is_resolved,
        s.created_at,
        s.first_response_at as reported_first_response_at,
        s.resolved_at,
        s.updated_at,
        s.customer_id,
        s.agent_id,
        s.team,
        s.language,
        s.region,
        s.topic,
        s.topic_label,
        s.subject,
        s.first_message,
        s.handled_by_bot,
        s.reopen_count,
        -- DuckDB-only: timezone(zone, timestamptz) gives local wall-clock time (Spark: from_utc_timestamp)
        cast(timezone(st.reporting_timezone, s.created_at) as date) as created_day,
        cast(timezone(st.reporting_timezone, s.resolved_at) as date) as resolved_day,
    from source as s
    cross join settings as st
    left join status_classes as sc on sc.status = s.status
)
select * from renamed;
create or replace view staging.stg_interactions as select * from staging.stg_interactions_rows('raw.interactions');
-- the interactions of the refresh scope (staging.refresh_interactions)
create or replace view staging.stg_interactions_in_scope as
select * from staging.stg_interactions_rows('staging.raw_interactions_in_scope');
