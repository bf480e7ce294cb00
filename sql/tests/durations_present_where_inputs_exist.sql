-- every required duration is known where its inputs are: a first response has its first-response times,
-- a resolved interaction (resolved or closed class, with a resolution time) has its resolution times
select interaction_id from marts.fct_interactions
where (first_response_at is not null
       and (first_response_seconds is null or first_response_business_seconds is null))
   or (is_resolved and resolved_at is not null
       and (resolution_seconds is null or resolution_business_seconds is null))
