-- One row per scored B2B account (company and brand level) as of the scorecard's
-- day: what segment rules (config/segments.yaml) test about accounts, picked from
-- customers.account_scorecard (activity score, churn risk, revenue, orders) and
-- enriched.dim_accounts (country, company). Nothing is computed here.
select
    s.account_id,
    s.as_of_date,
    s.account_level,
    s.segment,
    s.business_type,
    d.country_code,
    d.company_id,
    s.activity_score,
    s.activity_level,
    s.churn_risk_score,
    s.churn_risk_level,
    s.mrr_minor,
    s.revenue_90d_minor,
    s.revenue_to_date_minor,
    s.orders_30d,
    s.orders_to_date,
    s.days_since_last_order,
    s.is_top_20_percent
from {{ ref('account_scorecard') }} as s
left join {{ ref('dim_accounts') }} as d using (account_id)
