-- an SLA verdict (met or breached) is never computed from a NULL business time: those rows are 'unknown'
select interaction_id from marts.fct_interactions
where (first_response_sla_status in ('met', 'breached') and first_response_at is not null
       and first_response_business_seconds is null)
   or (resolution_sla_status in ('met', 'breached') and is_resolved and resolution_business_seconds is null)
