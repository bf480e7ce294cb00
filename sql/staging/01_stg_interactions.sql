-- one row per interaction, as loaded (validated, redacted), with the reporting day
create or replace view staging.stg_interactions as
with source as (
    select * from raw.interactions
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
select * from renamed
