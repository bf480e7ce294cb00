"""Eight everyday questions, answered the documented way (sql/README.md): ``csqa.pipeline.connect()`` opens the
newest published snapshot read-only, in the reporting time zone, and never blocks the nightly load.

    CSQA_DB=data/csqa.duckdb python docs/examples/analyst_notebook.py [EXPORT_DIR]

Each cell below is what you would type into a notebook; run as a script it prints every answer.
"""

import sys
from pathlib import Path

from csqa.pipeline import connect

export_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else None
con = connect(export_dir=export_dir)  # $CSQA_DB, else the configured warehouse path

# 1. Median first response by channel, calendar and business time, last 28 days of data
medians = con.sql("""
    select channel,
           round(median(first_response_seconds) / 60, 1) as median_minutes,
           round(median(first_response_business_seconds) / 60, 1) as median_business_minutes,
           count(first_response_seconds) as count_first_responses
    from marts.fct_interactions
    where created_day > (select max(created_day) from marts.fct_interactions) - 28
    group by channel order by median_minutes
""").df()

# 2. First-response SLA by channel x priority (from the rollup: counts re-aggregate)
sla = con.sql("""
    select channel, priority,
           sum(count_first_response_met) as met, sum(count_first_response_breached) as breached,
           round(100.0 * met / nullif(met + breached, 0), 1) as met_pct
    from marts.sla_compliance group by all order by met_pct
""").df()

# 3. The worst first-response breaches (business time past the target)
worst = con.sql("""
    select interaction_id, channel, priority, created_at, agent_id,
           round((first_response_business_seconds - first_response_target_seconds) / 3600, 1) as hours_late
    from marts.fct_interactions
    where first_response_sla_status = 'breached' and first_response_business_seconds is not null
    order by hours_late desc limit 10
""").df()

# 4. Weekly CSAT (ISO weeks, Monday, reporting zone) with 95% Wilson intervals
weekly_csat = con.sql("""
    select date_trunc('week', created_day) as week, sum(count_rated) as rated,
           round(sum(count_satisfied) / sum(count_rated), 3) as satisfied_share,
           round(marts.wilson_lower(sum(count_satisfied), sum(count_rated)), 3) as low,
           round(marts.wilson_upper(sum(count_satisfied), sum(count_rated)), 3) as high
    from marts.csat_daily group by week order by week
""").df()

# 5. FAQ topics without an article in the customer's language, by volume
no_article = con.sql("""
    select topic, language, count_contacts, has_article_any_language
    from marts.faq_coverage where not has_article_in_language order by count_contacts desc
""").df()

# 6. Agents' reopen and one-touch rates (definitions: docs/METRICS.md), agents with 20+ resolutions
agents = con.sql("""
    select agent_id, sum(count_interactions) as interactions,
           round(sum(count_reopened) / nullif(sum(count_reopen_eligible), 0), 3) as reopen_rate,
           round(sum(count_one_touch) / nullif(sum(count_one_touch_eligible), 0), 3) as one_touch_rate
    from marts.agent_daily group by agent_id having sum(count_reopen_eligible) >= 20
    order by reopen_rate desc
""").df()

# 7. Daily backlog, all channels
backlog = con.sql("""
    select day, sum(count_created) as created, sum(count_resolved) as resolved,
           sum(count_open_at_end) as open_at_end
    from marts.backlog_daily group by day order by day
""").df()

# 8. An article's effect on volume (only articles published inside the data: docs/METRICS.md)
deflection = con.sql("""
    select article_id, topic, language, published_at, mean_weekly_before, mean_weekly_after,
           round(change_rate, 3) as change_rate, is_beyond_noise
    from marts.faq_deflection_summary order by change_rate
""").df()

answers = {"medians": medians, "sla": sla, "worst": worst, "weekly_csat": weekly_csat,
           "no_article": no_article, "agents": agents, "backlog": backlog, "deflection": deflection}

# A CSV export: from pandas (counts stay integers), or COPY into the export folder you named
if export_dir is not None:
    weekly_csat.to_csv(export_dir / "weekly_csat.csv", index=False)
    con.sql(f"copy (select * from marts.sla_compliance) to '{export_dir / 'sla_compliance.csv'}'")
con.close()

if __name__ == "__main__":
    for name, df in answers.items():
        print(f"## {name} ({len(df)} rows)")
        print(df.head(10).to_string(index=False))
        print()
