-- Revenue attribution per month: consumer revenue (net of refunds) by the buyer's
-- first-touch marketing source, with the source's sign-ups; B2B revenue by customer
-- segment (SMB / Mid-Market / Enterprise), split into subscriptions and
-- sponsorships, with the segment's MRR. share_of_revenue is within the month and
-- dimension, so each dimension's shares sum to 1.
with revenue as (
    select
        cast(date_trunc('month', partition_date) as date) as month_start,
        revenue_stream,
        revenue_type,
        coalesce(marketing_source, 'unknown') as marketing_source,
        user_key,
        account_id,
        amount_reporting_minor
    from {{ ref('fct_revenue') }}
),

accounts as (
    select account_id, segment from {{ ref('dim_accounts') }}
),

by_source as (
    select
        month_start,
        'marketing_source' as dimension,
        marketing_source as dimension_value,
        {{ sum_minor('amount_reporting_minor') }} as revenue_minor,
        count(distinct user_key) filter (where revenue_type = 'purchase') as paying_customers,
        cast(0 as bigint) as subscription_revenue_minor,
        cast(0 as bigint) as sponsorship_revenue_minor
    from revenue
    where revenue_stream = 'consumer'
    group by all
),

by_segment as (
    select
        revenue.month_start,
        'segment' as dimension,
        coalesce(accounts.segment, '(unknown)') as dimension_value,
        {{ sum_minor('revenue.amount_reporting_minor') }} as revenue_minor,
        count(distinct revenue.account_id) as paying_customers,
        {{ sum_minor('revenue.amount_reporting_minor', where="revenue.revenue_type = 'subscription_invoice'") }} as subscription_revenue_minor,
        {{ sum_minor('revenue.amount_reporting_minor', where="revenue.revenue_type = 'sponsorship_order'") }} as sponsorship_revenue_minor
    from revenue
    left join accounts using (account_id)
    where revenue.revenue_stream = 'b2b'
    group by all
),

signups as (
    select
        cast(date_trunc('month', signup_date) as date) as month_start,
        'marketing_source' as dimension,
        first_touch_source as dimension_value,
        count(*) as signups
    from {{ ref('dim_users') }}
    group by all
),

mrr as (
    select
        month_start,
        'segment' as dimension,
        segment as dimension_value,
        {{ sum_minor('mrr_minor') }} as mrr_minor,
        count(*) filter (where mrr_minor > 0) as subscribed_accounts
    from {{ ref('mrr_account_monthly') }}
    group by all
),

combined as (
    select
        month_start,
        dimension,
        dimension_value,
        coalesce(lines.revenue_minor, 0) as revenue_minor,
        coalesce(lines.paying_customers, 0) as paying_customers,
        coalesce(lines.subscription_revenue_minor, 0) as subscription_revenue_minor,
        coalesce(lines.sponsorship_revenue_minor, 0) as sponsorship_revenue_minor,
        coalesce(signups.signups, 0) as signups,
        coalesce(mrr.mrr_minor, 0) as mrr_minor,
        coalesce(mrr.subscribed_accounts, 0) as subscribed_accounts
    from (select * from by_source union all select * from by_segment) as lines
    full join signups using (month_start, dimension, dimension_value)
    full join mrr using (month_start, dimension, dimension_value)
)

select
    *,
    round(revenue_minor / nullif(sum(revenue_minor) over (partition by month_start, dimension), 0), 4) as share_of_revenue
from combined
