-- Monthly cohorts: users by sign-up month (dim_users) x months since sign-up, with
-- user retention, revenue retention and cumulative cohort LTV. Every month from the
-- sign-up month to the last month with app events is a row (a spine), so a month
-- without activity is a zero, never a gap. Users without a sign-up in the data have
-- no cohort and are not counted.
with users as (
    select user_key, cast(date_trunc('month', signup_date) as date) as cohort_month
    from {{ ref('dim_users') }}
),

activity as (
    select distinct cast(date_trunc('month', partition_date) as date) as activity_month, user_key
    from {{ ref('enriched_app_events') }}
    where {{ is_activity_event() }}
),

revenue as (
    -- consumer revenue net of refunds, per user and month
    select
        cast(date_trunc('month', partition_date) as date) as activity_month,
        user_key,
        sum(cast(amount_reporting_minor as hugeint)) as revenue_minor  -- exact; bounded to BIGINT below (sum_minor)
    from {{ ref('fct_revenue') }}
    where revenue_stream = 'consumer' and user_key is not null
    group by all
),

bounds as (
    select max(partition_date) as last_data_date, cast(date_trunc('month', max(partition_date)) as date) as last_month
    from {{ ref('enriched_app_events') }}
),

cohorts as (
    select cohort_month, count(*) as cohort_users
    from users
    group by all
),

spine as (
    select
        cohorts.cohort_month,
        cohorts.cohort_users,
        cast(unnest(generate_series(cohorts.cohort_month, bounds.last_month, interval 1 month)) as date) as activity_month
    from cohorts
    cross join bounds
),

active as (
    select users.cohort_month, activity.activity_month, count(*) as active_users
    from activity
    join users using (user_key)
    group by all
),

paid as (
    select
        users.cohort_month,
        revenue.activity_month,
        {{ sum_minor('revenue.revenue_minor') }} as revenue_minor,
        count(*) filter (where revenue.revenue_minor > 0) as paying_users
    from revenue
    join users using (user_key)
    group by all
),

grid as (
    select
        spine.cohort_month,
        datediff('month', spine.cohort_month, spine.activity_month) as months_since_signup,
        spine.activity_month,
        spine.cohort_users,
        coalesce(active.active_users, 0) as active_users,
        coalesce(paid.paying_users, 0) as paying_users,
        -- no purchases = 0; a month whose total overflowed stays NULL (sum_minor)
        case when paid.cohort_month is null then 0 else paid.revenue_minor end as revenue_minor
    from spine
    left join active using (cohort_month, activity_month)
    left join paid using (cohort_month, activity_month)
)

select
    cohort_month,
    months_since_signup,
    activity_month,
    cohort_users,
    active_users,
    round(active_users / cohort_users, 4) as user_retention_rate,
    paying_users,
    revenue_minor,
    round(revenue_minor / nullif(first_value(revenue_minor) over cohort, 0), 4) as revenue_retention_rate,
    {{ sum_minor('revenue_minor', over='cohort rows between unbounded preceding and current row', unknown_if_null=true) }} as cumulative_revenue_minor,
    cast(round({{ sum_minor('revenue_minor', over='cohort rows between unbounded preceding and current row', unknown_if_null=true) }} / cohort_users) as bigint)
        as cumulative_ltv_minor,
    cast(last_day(activity_month) as date) <= (select last_data_date from bounds) as is_complete_month
from grid
window cohort as (partition by cohort_month order by months_since_signup)
