-- business time never exceeds calendar time (allowing for float rounding), and one is never NULL
-- where the other is known (a NULL compared with > would let any row pass)
select interaction_id from marts.fct_interactions
where first_response_business_seconds > first_response_seconds + 0.001
   or resolution_business_seconds > resolution_seconds + 0.001
   or (first_response_seconds is null) <> (first_response_business_seconds is null)
   or (resolution_seconds is null) <> (resolution_business_seconds is null)
