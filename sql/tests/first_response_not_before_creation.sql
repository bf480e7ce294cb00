-- no interaction is answered before it was created
select interaction_id from marts.fct_interactions
where first_response_at < created_at or first_response_seconds < 0 or first_response_business_seconds < 0
