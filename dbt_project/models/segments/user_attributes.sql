-- One row per app user seen in the data to the as-of date (a sign-up, or activity
-- of a user who signed up before the data starts): what segment rules
-- (config/segments.yaml) test about users. Every figure reads the project's own
-- definitions, never a copy:
--   as_of_date: the last day of kpis.kpi_daily with data (so a re-run over the same
--     data gives the same answer, whatever the wall clock says);
--   activity: macro is_activity_event (var non_activity_event_types), as DAU / MAU;
--   purchases and revenue: the consumer lines of fused.fct_revenue (purchases +,
--     refunds -, summed by sum_minor), as the revenue metrics;
--   the *_in_window figures: the activity window W (macro activity_window_days(),
--     var activity_window_days), the W days ending on the as-of date, MAU's window:
--     the users with active_days_in_window > 0 are the as-of day's MAU.
{%- set window_days = activity_window_days() %}

with as_of as (
    select max(metric_date) as as_of_date
    from {{ ref('kpi_daily') }}
    where has_data
),

activity as (
    select
        e.user_key,
        count(*) filter (where e.partition_date > as_of.as_of_date - {{ window_days }}) as events_in_window,
        count(distinct e.partition_date) filter (where e.partition_date > as_of.as_of_date - {{ window_days }})
            as active_days_in_window,
        count(*) filter (where e.partition_date > as_of.as_of_date - {{ window_days }}
                           and e.event_type = 'session_start') as sessions_in_window,
        max(e.partition_date) as last_active_date,
        arg_max(e.platform, e.occurred_at) as platform
    from {{ ref('enriched_app_events') }} as e
    cross join as_of
    where {{ is_activity_event('e.event_type', 'e.user_key') }}
      and e.partition_date <= as_of.as_of_date
    group by e.user_key
),

revenue as (
    select
        r.user_key,
        count(*) filter (where r.revenue_type = 'purchase' and r.partition_date > as_of.as_of_date - {{ window_days }})
            as purchases_in_window,
        count(*) filter (where r.revenue_type = 'purchase') as purchases_to_date,
        {{ sum_minor('r.amount_reporting_minor', where="r.partition_date > as_of.as_of_date - " ~ window_days) }}
            as revenue_in_window_minor,
        {{ sum_minor('r.amount_reporting_minor') }} as revenue_to_date_minor
    from {{ ref('fct_revenue') }} as r
    cross join as_of
    where r.revenue_stream = 'consumer'
      and r.user_key is not null
      and r.partition_date <= as_of.as_of_date
    group by r.user_key
),

signups as (
    select u.user_key, u.signup_date, u.first_touch_source, u.country_code
    from {{ ref('dim_users') }} as u
    cross join as_of
    where u.signup_date <= as_of.as_of_date
),

users as (
    select user_key from signups
    union
    select user_key from activity
    union
    select user_key from revenue
)

select
    users.user_key,
    as_of.as_of_date,
    signups.signup_date,
    as_of.as_of_date - signups.signup_date as days_since_signup,
    coalesce(signups.first_touch_source, 'unknown') as first_touch_source,
    signups.country_code,
    activity.platform,
    coalesce(activity.events_in_window, 0) as events_in_window,
    coalesce(activity.active_days_in_window, 0) as active_days_in_window,
    coalesce(activity.sessions_in_window, 0) as sessions_in_window,
    coalesce(revenue.purchases_in_window, 0) as purchases_in_window,
    coalesce(revenue.purchases_to_date, 0) as purchases_to_date,
    -- no revenue line = 0; a NULL sum (beyond BIGINT) stays unknown, never 0
    case when revenue.user_key is null then 0 else revenue.revenue_in_window_minor end as revenue_in_window_minor,
    case when revenue.user_key is null then 0 else revenue.revenue_to_date_minor end as revenue_to_date_minor,
    activity.last_active_date,
    as_of.as_of_date - activity.last_active_date as days_since_last_active
from users
cross join as_of
left join signups using (user_key)
left join activity using (user_key)
left join revenue using (user_key)
