-- One row per B2B account (company and brand level) as of the last day with data:
-- the seed-004 activity score and its trend, revenue, rankings and percentiles within
-- peer groups (segment, business type), its place in the revenue concentration
-- (Pareto), and a churn risk score whose inputs are columns beside it.
--   churn_risk_score (0-100) = activity_decline_points (30 x min(1, fall of the
--   activity score over 30 days / 50)) + order_decline_points (25 x drop of orders,
--   last 30 days vs the 30 before, as a share) + mrr_decline_points (25 x drop of MRR,
--   this month vs the previous, as a share) + billing_issue_points (20 x share of the
--   last 90 days' billing records still unpaid, the support / payment-trouble signal
--   B2B data carries); high >= 50, medium >= 25, low below.
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
        cast(sum(amount_reporting_minor) as bigint) as revenue_to_date_minor,
        coalesce(cast(sum(amount_reporting_minor) filter (where partition_date > latest_day.as_of_date - 90) as bigint), 0)
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
        round(20 * coalesce(unpaid_records_90d / nullif(billing_records_90d, 0), 0.0), 1) as billing_issue_points
    from joined
),

ranked as (
    select
        *,
        round(activity_decline_points + order_decline_points + mrr_decline_points + billing_issue_points, 1)
            as churn_risk_score,
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
    from risk
)

select
    * exclude (accounts_with_revenue),
    revenue_to_date_minor > 0 and revenue_rank <= ceil(0.2 * accounts_with_revenue) as is_top_20_percent,
    case when churn_risk_score >= 50 then 'high' when churn_risk_score >= 25 then 'medium' else 'low' end as churn_risk_level
from ranked
