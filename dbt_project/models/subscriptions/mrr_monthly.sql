-- Subscription revenue per month (seed 003's SaaS metrics) from mrr_account_monthly.
-- start = the previous month's end MRR, so every month
--   start + opening + new + reactivated + expansion - contraction - churned = end.
-- NRR / GRR are over the starting cohort (accounts with MRR at the start of the
-- month): new and reactivated accounts are not in it.
with accounts as (
    select * from {{ ref('mrr_account_monthly') }}
),

months as (
    select cast(unnest(generate_series(min(month_start), max(month_start), interval 1 month)) as date) as month_start
    from accounts
),

totals as (
    select
        month_start,
        {{ sum_minor('previous_mrr_minor') }} as start_mrr_minor,
        {{ sum_minor('opening_mrr_minor') }} as opening_mrr_minor,
        {{ sum_minor('new_mrr_minor') }} as new_mrr_minor,
        {{ sum_minor('expansion_mrr_minor') }} as expansion_mrr_minor,
        {{ sum_minor('contraction_mrr_minor') }} as contraction_mrr_minor,
        {{ sum_minor('churned_mrr_minor') }} as churned_mrr_minor,
        {{ sum_minor('reactivated_mrr_minor') }} as reactivated_mrr_minor,
        {{ sum_minor('mrr_minor') }} as end_mrr_minor,
        count(*) filter (where previous_mrr_minor > 0) as customers_start,
        count(*) filter (where mrr_minor > 0) as customers_end,
        count(*) filter (where movement = 'opening') as opening_customers,
        count(*) filter (where movement = 'new') as new_customers,
        count(*) filter (where movement = 'expansion') as expanded_customers,
        count(*) filter (where movement = 'contraction') as contracted_customers,
        count(*) filter (where movement = 'churned') as churned_customers,
        count(*) filter (where movement = 'reactivated') as reactivated_customers
    from accounts
    group by month_start
),

filled as (
    select
        months.month_start,
        {%- for c in ['start_mrr_minor', 'opening_mrr_minor', 'new_mrr_minor', 'expansion_mrr_minor',
                      'contraction_mrr_minor', 'churned_mrr_minor', 'reactivated_mrr_minor', 'end_mrr_minor',
                      'customers_start', 'customers_end', 'opening_customers', 'new_customers',
                      'expanded_customers', 'contracted_customers', 'churned_customers', 'reactivated_customers'] %}
        coalesce(totals.{{ c }}, 0) as {{ c }},
        {%- endfor %}
        months.month_start = min(months.month_start) over () as is_first_data_month,
        months.month_start = max(months.month_start) over () as is_latest_month
    from months
    left join totals using (month_start)
)

select
    month_start,
    cast(last_day(month_start) as date) as month_end,
    start_mrr_minor,
    opening_mrr_minor,
    new_mrr_minor,
    expansion_mrr_minor,
    contraction_mrr_minor,
    churned_mrr_minor,
    reactivated_mrr_minor,
    end_mrr_minor,
    new_mrr_minor + reactivated_mrr_minor + expansion_mrr_minor - contraction_mrr_minor - churned_mrr_minor as net_new_mrr_minor,
    end_mrr_minor * 12 as arr_minor,
    customers_start,
    customers_end,
    opening_customers,
    new_customers,
    expanded_customers,
    contracted_customers,
    churned_customers,
    reactivated_customers,
    round((end_mrr_minor - start_mrr_minor) / nullif(start_mrr_minor, 0), 4) as mrr_growth,
    round((start_mrr_minor + expansion_mrr_minor - contraction_mrr_minor - churned_mrr_minor) / nullif(start_mrr_minor, 0), 4) as nrr,
    round((start_mrr_minor - contraction_mrr_minor - churned_mrr_minor) / nullif(start_mrr_minor, 0), 4) as grr,
    round((new_mrr_minor + reactivated_mrr_minor + expansion_mrr_minor) / nullif(contraction_mrr_minor + churned_mrr_minor, 0), 4) as quick_ratio,
    round(churned_customers / nullif(customers_start, 0), 4) as logo_churn_rate,
    round((churned_mrr_minor + contraction_mrr_minor) / nullif(start_mrr_minor, 0), 4) as revenue_churn_rate,
    cast(round(end_mrr_minor / nullif(customers_end, 0)) as bigint) as arpa_minor,
    cast({{ var('subscription_gross_margin') }} as double) as gross_margin,
    -- LTV = ARPA x margin / monthly logo churn (NULL in a month without churn: unbounded)
    cast(round(end_mrr_minor / nullif(customers_end, 0) * {{ var('subscription_gross_margin') }}
               / nullif(churned_customers / nullif(customers_start, 0), 0)) as bigint) as ltv_minor,
    is_first_data_month,
    is_latest_month
from filled
