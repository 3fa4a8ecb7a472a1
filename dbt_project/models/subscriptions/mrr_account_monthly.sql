-- MRR per B2B account and month, and the month's movement. Built from subscription
-- invoices (void excluded, open included: contracted revenue), each spread over
-- the months of its service period at its monthly-equivalent amount:
--   mrr = amount / months in the period (monthly plan: the amount; annual plan:
--   amount / 12 for each of its 12 months), in integer minor units rounded half up, so an
--   annual invoice issued in its anniversary month counts in every month it covers.
-- Months run from the first to the last month with billing data (invoices are
-- issued on the 1st, so the last month is covered as soon as it starts); coverage
-- beyond that is a future commitment and not reported. The first month is the
-- opening balance (movement 'opening': what was subscribed when the data starts).
-- Movements vs the previous month: new (first MRR ever), reactivated (MRR again
-- after a month at 0), expansion / contraction (MRR up / down), churned (to 0).
with invoices as (
    select
        account_id,
        plan_id,
        billing_period,
        amount_reporting_minor,
        cast(date_trunc('month', period_start_date) as date) as first_month,
        case
            when billing_period = 'monthly' then 1
            when billing_period = 'annual' then 12
            -- unknown plan (sanitised): the length of the service period
            else greatest(1, datediff('month', period_start_date, period_end_date + 1))
        end as months_covered
    from {{ ref('enriched_billing') }}
    where record_type = 'subscription_invoice'
      and billing_status <> 'void'
      and account_id is not null
      and period_start_date is not null
      and amount_reporting_minor is not null
),

bounds as (
    select
        cast(date_trunc('month', min(partition_date)) as date) as first_data_month,
        cast(date_trunc('month', max(partition_date)) as date) as last_data_month
    from {{ ref('enriched_billing') }}
),

months as (
    select cast(unnest(generate_series(first_data_month, last_data_month, interval 1 month)) as date) as month_start
    from bounds
),

invoice_months as (
    -- one row per invoice and covered month; integer division rounded half up
    select
        account_id,
        plan_id,
        billing_period,
        cast(first_month + to_months(cast(unnest(range(months_covered)) as integer)) as date) as month_start,
        -- HUGEINT: doubling an amount near BIGINT's bound must not overflow; the result is at most the amount
        cast((cast(amount_reporting_minor as hugeint) * 2 + months_covered) // (months_covered * 2) as bigint) as mrr_minor
    from invoices
),

account_mrr as (
    select
        account_id,
        month_start,
        {{ sum_minor('mrr_minor') }} as mrr_minor,
        arg_max(plan_id, mrr_minor) as plan_id,
        arg_max(billing_period, mrr_minor) as billing_period
    from invoice_months
    where month_start in (select month_start from months)
    group by all
),

accounts as (
    select distinct account_id from account_mrr
),

grid as (
    select
        accounts.account_id,
        months.month_start,
        coalesce(account_mrr.mrr_minor, 0) as mrr_minor,
        account_mrr.plan_id,
        account_mrr.billing_period
    from accounts
    cross join months
    left join account_mrr using (account_id, month_start)
),

history as (
    select
        *,
        coalesce(lag(mrr_minor) over (partition by account_id order by month_start), 0) as previous_mrr_minor,
        coalesce(max(mrr_minor) over (
            partition by account_id order by month_start rows between unbounded preceding and 1 preceding), 0) > 0
            as had_mrr_before,
        month_start = (select first_data_month from bounds) as is_first_data_month
    from grid
),

classified as (
    select
        *,
        case
            when is_first_data_month and mrr_minor > 0 then 'opening'
            when previous_mrr_minor = 0 and mrr_minor > 0 and had_mrr_before then 'reactivated'
            when previous_mrr_minor = 0 and mrr_minor > 0 then 'new'
            when previous_mrr_minor > 0 and mrr_minor = 0 then 'churned'
            when mrr_minor > previous_mrr_minor then 'expansion'
            when mrr_minor < previous_mrr_minor then 'contraction'
            else 'unchanged'
        end as movement
    from history
    where mrr_minor > 0 or previous_mrr_minor > 0
)

select
    classified.month_start,
    classified.account_id,
    dim_accounts.account_name,
    dim_accounts.account_level,
    coalesce(dim_accounts.segment, '(unknown)') as segment,
    dim_accounts.business_type,
    dim_accounts.company_id,
    dim_accounts.group_id,
    classified.plan_id,
    classified.billing_period,
    classified.previous_mrr_minor,
    classified.mrr_minor,
    classified.movement,
    classified.mrr_minor - classified.previous_mrr_minor as mrr_change_minor,
    case when movement = 'opening' then mrr_minor else 0 end as opening_mrr_minor,
    case when movement = 'new' then mrr_minor else 0 end as new_mrr_minor,
    case when movement = 'expansion' then mrr_minor - previous_mrr_minor else 0 end as expansion_mrr_minor,
    case when movement = 'contraction' then previous_mrr_minor - mrr_minor else 0 end as contraction_mrr_minor,
    case when movement = 'churned' then previous_mrr_minor else 0 end as churned_mrr_minor,
    case when movement = 'reactivated' then mrr_minor else 0 end as reactivated_mrr_minor,
    classified.is_first_data_month
from classified
left join {{ ref('dim_accounts') }} as dim_accounts using (account_id)
