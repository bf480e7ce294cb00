-- business time never exceeds calendar time (allowing for float rounding)
select interaction_id from marts.fct_interactions
where first_response_business_seconds > first_response_seconds + 0.001
   or resolution_business_seconds > resolution_seconds + 0.001
