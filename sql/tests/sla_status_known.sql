-- every SLA status is one of the documented values ('unknown': the business time could not be computed)
select interaction_id from marts.fct_interactions
where first_response_sla_status not in ('met', 'breached', 'open', 'not_applicable', 'no_target', 'unknown')
   or resolution_sla_status not in ('met', 'breached', 'open', 'no_target', 'unknown')
