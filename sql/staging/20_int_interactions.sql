-- one row per interaction in the refresh scope (staging.refresh_interactions): every duration in
-- calendar and business seconds, SLA status, CSAT. The scope is applied at every source, so an
-- incremental refresh reads only what changed.
-- The refresh scope's interactions (as staging.raw_interactions_in_scope / stg_interactions_in_scope) for the
-- wide rows (every text column) of int_interactions, scoped by a join rather than by the filter the narrow
-- reads use (the clocks' instants, int_message_stats): with one filter for all, DuckDB materialised the
-- filtered interactions once for every reader, text columns included (3 of the fact table's 11 s at 1M rows).
create or replace view staging.raw_interactions_scope_join as
select i.*
from staging.refresh_interactions as r
inner join raw.interactions as i on i.interaction_id = r.interaction_id;
create or replace view staging.stg_interactions_scope_join as
select * from staging.stg_interactions_rows('staging.raw_interactions_scope_join');
create or replace view staging.int_interactions as
with scope as (
    select interaction_id from staging.refresh_interactions
),
interactions as (
    select * from staging.stg_interactions_scope_join
),
message_stats as (
    select * from staging.int_message_stats
),
reply_waits as (
    select * from staging.int_reply_wait_times
),
surveys as (
    select * from staging.stg_csat_surveys_in_scope
),
targets as (
    select * from staging.sla_targets
),
settings as (
    select * from staging.settings
),
faq_matches as (
    select * from staging.faq_matches where interaction_id in (select interaction_id from scope)
),
-- the latest answer counts when a customer answered more than one survey (answers at the same instant: the larger
-- survey_id, whatever order the rows are in); its score, comment and time are taken together, from one max_by of a
-- struct, so they are one survey's (a struct, as max_by skips a null argument in DuckDB: a latest answer without a
-- comment would otherwise show an older answer's comment beside its score)
survey_stats as (
    select
        a.interaction_id,
        a.count_surveys_sent,
        a.count_surveys_answered,
        a.latest_answer.score as csat_score,
        a.latest_answer.comment as csat_comment,
        a.latest_answer.responded_at as csat_responded_at,
        a.first_survey_sent_at,
        a.last_survey_sent_at,
    from (
        select
            interaction_id,
            count(*) as count_surveys_sent,
            count(case when is_answered then 1 end) as count_surveys_answered,
            max_by(struct_pack(score := csat_score, comment := comment, responded_at := responded_at),
                   struct_pack(t := responded_at, id := survey_id)) filter (where is_answered) as latest_answer,
            min(sent_at) as first_survey_sent_at,
            max(sent_at) as last_survey_sent_at,
        from surveys
        group by interaction_id
    ) as a
),
-- the clocks need a calendar lookup only where the schedule is not 24/7 (a minority of rows): they are computed
-- on a narrow projection (ids, instants, schedule keys) of those rows and joined to the wide rows (texts) by id,
-- so the ASOF joins never carry, sort or spill the text columns
instants as (
    select
        i.interaction_id,
        i.created_at,
        case
            when ms.interaction_id is not null then ms.first_reply_at
            else i.reported_first_response_at
        end as first_response_at,
        i.resolved_at,
        t.schedule,
        st.as_of_at,
    from (
        select interaction_id, channel, priority, created_at, reported_first_response_at, resolved_at
        from staging.stg_interactions_in_scope
    ) as i
    left join message_stats as ms on ms.interaction_id = i.interaction_id
    left join targets as t on t.channel = i.channel and t.priority = i.priority
    cross join settings as st
    where not coalesce(t.is_always_open, false)
),
-- DuckDB-only: ASOF joins find the open interval at or before each instant (Spark: a range join)
scheduled_clocks as (
    select
        t.interaction_id,
        c0.cum_seconds + least(greatest(epoch(t.created_at) - epoch(c0.open_at), 0), c0.seconds) as clock_created,
        c1.cum_seconds + least(greatest(epoch(t.first_response_at) - epoch(c1.open_at), 0), c1.seconds)
            as clock_first_response,
        c2.cum_seconds + least(greatest(epoch(t.resolved_at) - epoch(c2.open_at), 0), c2.seconds) as clock_resolved,
        c3.cum_seconds + least(greatest(epoch(t.as_of_at) - epoch(c3.open_at), 0), c3.seconds) as clock_as_of,
    from instants as t
    asof left join staging.business_calendar as c0 on c0.schedule = t.schedule and t.created_at >= c0.open_at
    asof left join staging.business_calendar as c1 on c1.schedule = t.schedule and t.first_response_at >= c1.open_at
    asof left join staging.business_calendar as c2 on c2.schedule = t.schedule and t.resolved_at >= c2.open_at
    asof left join staging.business_calendar as c3 on c3.schedule = t.schedule and t.as_of_at >= c3.open_at
),
timed as (
    select
        i.*,
        -- message events, when the interaction has any, decide the first response (none where an agent's message
        -- opened the conversation: int_message_stats)
        case
            when ms.interaction_id is not null then ms.first_reply_at
            else i.reported_first_response_at
        end as first_response_at,
        coalesce(ms.is_opened_by_agent, false) as is_opened_by_agent,
        case when ms.interaction_id is not null then 'messages' else 'interaction' end as first_response_source,
        ms.count_agent_replies,
        ms.count_messages,
        ms.first_message_sent_at,
        ms.last_message_sent_at,
        t.schedule,
        t.is_always_open,
        t.first_response_target_seconds,
        t.resolution_target_seconds,
        st.as_of_at,
    from interactions as i
    left join message_stats as ms on ms.interaction_id = i.interaction_id
    left join targets as t on t.channel = i.channel and t.priority = i.priority
    cross join settings as st
),
-- a 24/7 schedule's business time is calendar time: no calendar lookup needed (exact, and most rows)
clocked as (
    select
        t.*,
        case when t.is_always_open then epoch(t.created_at) else sc.clock_created end as clock_created,
        case when t.is_always_open then epoch(t.first_response_at) else sc.clock_first_response end
            as clock_first_response,
        case when t.is_always_open then epoch(t.resolved_at) else sc.clock_resolved end as clock_resolved,
        case when t.is_always_open then epoch(t.as_of_at) else sc.clock_as_of end as clock_as_of,
    from timed as t
    left join scheduled_clocks as sc on sc.interaction_id = t.interaction_id
),
durations as (
    select
        c.*,
        epoch(c.first_response_at) - epoch(c.created_at) as first_response_seconds,
        c.clock_first_response - c.clock_created as first_response_business_seconds,
        case when c.is_resolved then epoch(c.resolved_at) - epoch(c.created_at) end as resolution_seconds,
        case when c.is_resolved then c.clock_resolved - c.clock_created end as resolution_business_seconds,
        c.clock_as_of - c.clock_created as open_business_seconds,
    from clocked as c
),
final as (
    select
        d.interaction_id,
        d.channel,
        d.priority,
        d.status,
        d.is_resolved,
        d.created_at,
        d.created_day,
        d.first_response_at,
        d.first_response_source,
        d.resolved_at,
        d.resolved_day,
        d.updated_at,
        d.customer_id,
        d.agent_id,
        d.team,
        d.language,
        d.region,
        -- the agent's tag wins; a confident prediction assigns the topic where there is none
        -- (matched to an article: 'faq_match'; a topic agents tag but no article covers: 'predicted')
        coalesce(d.topic, case when fm.is_topic_confident then fm.faq_topic end) as topic,
        case
            when d.topic is not null then 'agent'
            when fm.is_faq_matched then 'faq_match'
            when fm.is_topic_confident then 'predicted'
        end as topic_source,
        d.topic as agent_topic,
        d.topic_label,
        fm.faq_article_id,
        fm.faq_match_score,
        coalesce(fm.is_faq_matched, false) as is_faq_matched,
        d.subject,
        d.first_message,
        d.handled_by_bot,
        d.reopen_count,
        d.schedule,
        d.first_response_seconds,
        d.first_response_business_seconds,
        d.resolution_seconds,
        d.resolution_business_seconds,
        coalesce(rw.count_reply_waits, 0) as count_reply_waits,
        coalesce(rw.count_next_replies, 0) as count_next_replies,
        rw.sum_next_reply_seconds,
        rw.max_next_reply_seconds,
        rw.sum_next_reply_business_seconds,
        rw.max_next_reply_business_seconds,
        d.count_agent_replies,
        d.count_messages,
        case
            when d.count_messages is null then null
            else d.is_resolved and d.count_agent_replies = 1
        end as is_one_touch,
        d.first_response_target_seconds,
        d.resolution_target_seconds,
        case
            when d.first_response_target_seconds is null then 'no_target'
            -- a NULL business time is never turned into a verdict: 'unknown' (docs/METRICS.md)
            when d.first_response_at is not null then
                case
                    when d.first_response_business_seconds is null then 'unknown'
                    when d.first_response_business_seconds <= d.first_response_target_seconds then 'met'
                    else 'breached'
                end
            when d.is_resolved then 'not_applicable'
            -- opened by an agent's message, no customer message: nobody waits for a first response
            when d.is_opened_by_agent then 'not_applicable'
            when d.open_business_seconds is null then 'unknown'
            when d.open_business_seconds > d.first_response_target_seconds then 'breached'
            else 'open'
        end as first_response_sla_status,
        case
            when d.resolution_target_seconds is null then 'no_target'
            when d.is_resolved then
                case
                    when d.resolution_business_seconds is null then 'unknown'
                    when d.resolution_business_seconds <= d.resolution_target_seconds then 'met'
                    else 'breached'
                end
            when d.open_business_seconds is null then 'unknown'
            when d.open_business_seconds > d.resolution_target_seconds then 'breached'
            else 'open'
        end as resolution_sla_status,
        coalesce(s.count_surveys_sent, 0) as count_surveys_sent,
        coalesce(s.count_surveys_answered, 0) as count_surveys_answered,
        s.csat_score,
        s.csat_score >= st.satisfied_threshold as is_satisfied,
        s.csat_comment,
        s.csat_responded_at,
        -- every stored message and survey of the interaction was sent between these (null: none)
        d.first_message_sent_at,
        d.last_message_sent_at,
        s.first_survey_sent_at,
        s.last_survey_sent_at,
    from durations as d
    left join reply_waits as rw on rw.interaction_id = d.interaction_id
    left join survey_stats as s on s.interaction_id = d.interaction_id
    left join faq_matches as fm on fm.interaction_id = d.interaction_id
    cross join settings as st
)
select * from final
