-- no interaction is resolved before the first response its source reported
select interaction_id from marts.fct_interactions
where first_response_source = 'interaction' and resolved_at < first_response_at
