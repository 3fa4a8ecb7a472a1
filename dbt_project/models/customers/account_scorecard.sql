-- One row per B2B account (company and brand level) as of the last day with data:
-- the seed-004 activity score and its trend, revenue, rankings and percentiles within
-- peer groups (segment, business type), its place in the revenue concentration
-- (Pareto), and a churn risk whose inputs are columns beside it (issue 13):
--   days_inactive = days since the last sponsorship order (never ordered: NULL, no
--   inactivity signal; a subscription-only account is judged on its trend, else half
--   the demo book would be "high" for never having placed an order).
--   churn_inactivity_points = 100 x (1 - 0.5 ^ (days_inactive / var
--   churn_inactivity_half_life_days)): 0 on the day of an order, 50 after one half-life,
--   rising towards 100 the longer the account is silent.
--   churn_trend_points = activity_decline_points (30 x min(1, fall of the activity score
--   over 30 days / 50)) + order_decline_points (25 x drop of orders, last 30 days vs the
--   30 before, as a share) + mrr_decline_points (25 x drop of MRR, this month vs the
--   previous, as a share) + billing_issue_points (20 x share of the last 90 days' billing
--   records still unpaid, the payment-trouble signal B2B data carries).
--   churn_risk_score = 100 - (100 - inactivity) x (100 - trend) / 100: a probability-like
--   0-100 where either signal alone raises the risk and, other things equal, more days
--   inactive always mean a higher risk.
--   mrr_at_risk_minor = churn_risk_score / 100 x mrr_minor: the revenue at stake, and
--   churn_priority_rank orders accounts by it (1 = act first).
--   churn_risk_level from the score (vars churn_risk_high / churn_risk_medium), except
--   'none' when mrr_minor = 0: no recurring revenue left to churn (never subscribed, or
--   already churned, which mrr_account_monthly reports as churned MRR).
with latest as (
    select *
    from {{ ref('account_activity_daily') }}
    where as_of_date = (select max(as_of_date) from {{ ref('account_activity_daily') }})
),

billing as (
    select partition_date, account_id, record_type, billing_status, amount_reporting_minor
    from {{ ref('enriched_billing') }}
    where billing_status <> 'void' and account_id is not null
),

revenue as (
    select
        billing.account_id,
        {{ sum_minor('amount_reporting_minor') }} as revenue_to_date_minor,
        {{ sum_minor('amount_reporting_minor', where="partition_date > latest_day.as_of_date - 90") }}
            as revenue_90d_minor,
        count(*) filter (where record_type = 'sponsorship_order') as orders_to_date,
        min(partition_date) filter (where record_type = 'sponsorship_order') as first_order_date,
        count(*) filter (where partition_date > latest_day.as_of_date - 90) as billing_records_90d,
        count(*) filter (where partition_date > latest_day.as_of_date - 90 and billing_status = 'open') as unpaid_records_90d
    from billing
    cross join (select max(as_of_date) as as_of_date from latest) as latest_day
    where billing.partition_date <= latest_day.as_of_date
    group by all
),

mrr as (
    select account_id, mrr_minor, previous_mrr_minor
    from {{ ref('mrr_account_monthly') }}
    where month_start = (select max(month_start) from {{ ref('mrr_account_monthly') }})
),

joined as (
    select
        latest.as_of_date,
        latest.account_id,
        latest.account_name,
        latest.account_level,
        latest.segment,
        latest.business_type,
        latest.activity_score,
        latest.activity_level,
        latest.frequency_score,
        latest.recency_score,
        latest.value_score,
        latest.score_wow_change,
        latest.score_mom_change,
        latest.orders_30d,
        latest.orders_prev_30d,
        latest.last_order_date,
        latest.days_since_last_order,
        latest.days_since_last_order as days_inactive,
        coalesce(revenue.orders_to_date, 0) as orders_to_date,
        coalesce(revenue.revenue_to_date_minor, 0) as revenue_to_date_minor,
        coalesce(revenue.revenue_90d_minor, 0) as revenue_90d_minor,
        coalesce(mrr.mrr_minor, 0) as mrr_minor,
        coalesce(mrr.previous_mrr_minor, 0) as previous_mrr_minor,
        coalesce(revenue.billing_records_90d, 0) as billing_records_90d,
        coalesce(revenue.unpaid_records_90d, 0) as unpaid_records_90d
    from latest
    left join revenue using (account_id)
    left join mrr using (account_id)
),

risk as (
    select
        *,
        round(30 * least(1.0, greatest(0.0, -coalesce(score_mom_change, 0)) / 50.0), 1) as activity_decline_points,
        round(25 * case when orders_prev_30d > 0
                        then greatest(0.0, (orders_prev_30d - orders_30d) / orders_prev_30d) else 0.0 end, 1)
            as order_decline_points,
        round(25 * case when previous_mrr_minor > 0
                        then greatest(0.0, (previous_mrr_minor - mrr_minor) / previous_mrr_minor) else 0.0 end, 1)
            as mrr_decline_points,
        round(20 * coalesce(unpaid_records_90d / nullif(billing_records_90d, 0), 0.0), 1) as billing_issue_points,
        round(100 * (1 - power(0.5, coalesce(days_inactive, 0) / {{ var('churn_inactivity_half_life_days') }})), 1)
            as churn_inactivity_points
    from joined
),

scored as (
    select
        *,
        round(activity_decline_points + order_decline_points + mrr_decline_points + billing_issue_points, 1)
            as churn_trend_points
    from risk
),

at_risk as (
    select
        *,
        round(100 - (100 - churn_inactivity_points) * (100 - churn_trend_points) / 100, 1) as churn_risk_score
    from scored
),

prioritised as (
    select
        *,
        cast(round(churn_risk_score / 100 * mrr_minor) as bigint) as mrr_at_risk_minor
    from at_risk
),

ranked as (
    select
        *,
        row_number() over (order by mrr_at_risk_minor desc, churn_risk_score desc, account_id) as churn_priority_rank,
        rank() over (partition by segment order by activity_score desc) as activity_rank_in_segment,
        round(percent_rank() over (partition by segment order by activity_score), 4) as activity_percentile_in_segment,
        rank() over (partition by business_type order by activity_score desc) as activity_rank_in_business_type,
        round(percent_rank() over (partition by business_type order by activity_score), 4) as activity_percentile_in_business_type,
        rank() over (partition by segment order by revenue_90d_minor desc) as revenue_rank_in_segment,
        round(percent_rank() over (partition by segment order by revenue_90d_minor), 4) as revenue_percentile_in_segment,
        rank() over (partition by business_type order by revenue_90d_minor desc) as revenue_rank_in_business_type,
        round(percent_rank() over (partition by business_type order by revenue_90d_minor), 4) as revenue_percentile_in_business_type,
        -- Pareto over revenue to date: rank, cumulative share, top 20 % of accounts with revenue
        row_number() over (order by revenue_to_date_minor desc, account_id) as revenue_rank,
        round(sum(revenue_to_date_minor) over (order by revenue_to_date_minor desc, account_id rows unbounded preceding)
              / nullif(sum(revenue_to_date_minor) over (), 0), 4) as cumulative_revenue_share,
        count(*) filter (where revenue_to_date_minor > 0) over () as accounts_with_revenue
    from prioritised
)

select
    * exclude (accounts_with_revenue),
    revenue_to_date_minor > 0 and revenue_rank <= ceil(0.2 * accounts_with_revenue) as is_top_20_percent,
    case
        when mrr_minor = 0 then 'none'
        when churn_risk_score >= {{ var('churn_risk_high') }} then 'high'
        when churn_risk_score >= {{ var('churn_risk_medium') }} then 'medium'
        else 'low'
    end as churn_risk_level
from ranked
