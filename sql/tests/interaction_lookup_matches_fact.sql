-- marts.interaction_lookup holds one row for each fact row, the hash of its interaction id and its created day
-- (pipeline/model/lookup.py: the dashboard finds a conversation's day there), no more and no fewer
with fact as (
    select hash(interaction_id) as id_hash, created_day, count(*) as n from marts.fct_interactions group by all
),
lookup as (
    select id_hash, created_day, count(*) as n from marts.interaction_lookup group by all
)
select coalesce(f.id_hash, l.id_hash) as id_hash, coalesce(f.created_day, l.created_day) as created_day,
       f.n as fact_rows, l.n as lookup_rows
from fact as f
full join lookup as l on l.id_hash = f.id_hash and l.created_day = f.created_day
where f.n is distinct from l.n
