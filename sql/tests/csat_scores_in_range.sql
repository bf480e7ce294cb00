-- CSAT scores are 1..5
select survey_id from raw.csat_surveys where score not between 1 and 5
union all
select interaction_id from marts.fct_interactions where csat_score not between 1 and 5
