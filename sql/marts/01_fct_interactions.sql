-- one row per interaction: durations (calendar and business seconds), SLA status, CSAT, topic, language, team, agent
-- refresh: by interaction_id
select *
from staging.int_interactions
where interaction_id in (select interaction_id from staging.refresh_interactions)
