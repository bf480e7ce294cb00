-- interaction_id is unique in the fact table
select interaction_id from marts.fct_interactions group by interaction_id having count(*) > 1
