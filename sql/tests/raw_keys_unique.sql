-- each raw table holds one row per natural key
select 'interactions' as entity, interaction_id as id from raw.interactions group by interaction_id having count(*) > 1
union all
select 'messages', message_id from raw.messages group by message_id having count(*) > 1
union all
select 'csat_surveys', survey_id from raw.csat_surveys group by survey_id having count(*) > 1
union all
select 'faq_articles', article_id from raw.faq_articles group by article_id having count(*) > 1
