-- one row per interaction: durations (calendar and business seconds), SLA status, CSAT, topic, language, team, agent
-- refresh: by interaction_id
-- (staging.int_interactions holds the refresh scope's interactions only: no filter on it here)
select *
from staging.int_interactions
