-- Seed 004 activity score per B2B account (company and brand level) and day, from
-- sponsorship orders (void excluded):
--   frequency_score = min(100, 100 x orders in the last 30 days / var activity_baseline_orders_30d)
--   recency_score   = 100 x 0.5 ^ (days since the last order / var activity_recency_half_life_days), 0 without an order
--   value_score     = min(100, 100 x average order value of the last 90 days / var activity_baseline_order_value_minor)
--   activity_score  = 0.40 x frequency + 0.35 x recency + 0.25 x value (1 decimal)
--   activity_level  = Active >= 70, Medium 50-69.9, Low 25-49.9, Dormant < 25
-- Every account has a row for every day with data (a spine), so trends compare like
-- with like: score_wow_change / score_mom_change = score - score 7 / 30 days before.
{%- set half_life = var('activity_recency_half_life_days') %}

with accounts as (
    select account_id, account_name, account_level, segment, business_type
    from {{ ref('dim_accounts') }}
    where account_level <> 'group'
),

orders as (
    select partition_date as order_date, account_id, amount_reporting_minor
    from {{ ref('enriched_billing') }}
    where record_type = 'sponsorship_order'
      and billing_status <> 'void'
      and account_id is not null
),

bounds as (
    select min(metric_date) as first_day, max(metric_date) as last_day
    from {{ ref('kpi_daily') }}
),

days as (
    select cast(unnest(generate_series(first_day, last_day, interval 1 day)) as date) as as_of_date
    from bounds
),

grid as (
    select accounts.*, days.as_of_date
    from accounts
    cross join days
),

windowed as (
    select
        grid.account_id,
        grid.as_of_date,
        count(orders.order_date) filter (where orders.order_date > grid.as_of_date - 30) as orders_30d,
        count(orders.order_date) filter (where orders.order_date <= grid.as_of_date - 30 and orders.order_date > grid.as_of_date - 60)
            as orders_prev_30d,
        {{ sum_minor('orders.amount_reporting_minor', where="orders.order_date > grid.as_of_date - 30") }}
            as order_revenue_30d_minor,
        avg(orders.amount_reporting_minor) as avg_order_value_90d_minor
    from grid
    left join orders
      on orders.account_id = grid.account_id
     and orders.order_date <= grid.as_of_date
     and orders.order_date > grid.as_of_date - 90
    group by all
),

last_order as (
    select grid.account_id, grid.as_of_date, orders.order_date as last_order_date
    from grid
    asof left join orders
      on orders.account_id = grid.account_id
     and orders.order_date <= grid.as_of_date
),

scored as (
    select
        grid.as_of_date,
        grid.account_id,
        grid.account_name,
        grid.account_level,
        grid.segment,
        grid.business_type,
        windowed.orders_30d,
        windowed.orders_prev_30d,
        windowed.order_revenue_30d_minor,
        cast(round(windowed.avg_order_value_90d_minor) as bigint) as avg_order_value_90d_minor,
        last_order.last_order_date,
        grid.as_of_date - last_order.last_order_date as days_since_last_order,
        least(100.0, 100.0 * windowed.orders_30d / {{ var('activity_baseline_orders_30d') }}) as frequency_score,
        case when last_order.last_order_date is null then 0.0
             else 100.0 * pow(0.5, (grid.as_of_date - last_order.last_order_date) / {{ half_life }}.0) end as recency_score,
        least(100.0, 100.0 * coalesce(windowed.avg_order_value_90d_minor, 0) / {{ var('activity_baseline_order_value_minor') }})
            as value_score
    from grid
    join windowed using (account_id, as_of_date)
    join last_order using (account_id, as_of_date)
),

classified as (
    select
        * replace (
            round(frequency_score, 1) as frequency_score,
            round(recency_score, 1) as recency_score,
            round(value_score, 1) as value_score
        ),
        round(0.40 * frequency_score + 0.35 * recency_score + 0.25 * value_score, 1) as activity_score
    from scored
)

select
    *,
    case
        when activity_score >= 70 then 'Active'
        when activity_score >= 50 then 'Medium'
        when activity_score >= 25 then 'Low'
        else 'Dormant'
    end as activity_level,
    round(activity_score - lag(activity_score, 7) over (partition by account_id order by as_of_date), 1) as score_wow_change,
    round(activity_score - lag(activity_score, 30) over (partition by account_id order by as_of_date), 1) as score_mom_change
from classified
