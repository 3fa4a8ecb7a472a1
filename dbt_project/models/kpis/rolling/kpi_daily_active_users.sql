-- Active users over rolling windows ending on each day of the run's window
-- (W = activity_window_days(), var activity_window_days in dbt_project.yml):
--   dau / wau / mau = distinct users with an activity event on the day / in the
--   7 / W days ending on the day; stickiness = dau / mau;
--   churned_users = users whose last activity was exactly W days before the day
--   (active on day - W, not on day - W + 1 .. day): the day they leave MAU.
-- The windows look back before the run's window: activity is read from W days
-- before partition_start, so one day's run scans W + 1 days of events, never all
-- of history. Dagster declares the same span on the dependency on
-- enriched_app_events (meta below), so a late day re-runs the W days after it.
-- (A key of its own: a model's `dagster` meta would replace its folder's step declaration.)
{{ config(meta={'activity_window_parents': ['enriched_app_events']}) }}
{%- set mau_days = activity_window_days() %}
{%- set wau_days = 7 %}

with days as (
    select partition_date
    from {{ ref('kpi_daily_quality') }}
    where {{ in_partition_window() }}
),

activity as (
    -- one row per user and day with activity, from mau_days before the window
    select distinct partition_date as activity_date, user_key
    from {{ ref('enriched_app_events') }}
    where partition_date >= date '{{ var("partition_start") }}' - {{ mau_days }}
      and partition_date < date '{{ var("partition_end") }}'
      and {{ is_activity_event() }}
),

rolling as (
    select
        days.partition_date,
        count(distinct activity.user_key) filter (where activity.activity_date = days.partition_date) as dau,
        count(distinct activity.user_key) filter (where activity.activity_date > days.partition_date - {{ wau_days }}) as wau,
        count(distinct activity.user_key) as mau
    from days
    left join activity
      on activity.activity_date > days.partition_date - {{ mau_days }}
     and activity.activity_date <= days.partition_date
    group by days.partition_date
),

next_activity as (
    select
        activity_date,
        user_key,
        lead(activity_date) over (partition by user_key order by activity_date) as next_activity_date
    from activity
),

churned as (
    -- the user's next activity (if any) comes after the day they reach mau_days inactive days
    select activity_date + {{ mau_days }} as partition_date, count(*) as churned_users
    from next_activity
    where next_activity_date is null or next_activity_date > activity_date + {{ mau_days }}
    group by all
)

select
    rolling.partition_date,
    rolling.partition_date as metric_date,
    rolling.dau,
    rolling.wau,
    rolling.mau,
    round(rolling.dau / nullif(rolling.mau, 0), 4) as stickiness,
    coalesce(churned.churned_users, 0) as churned_users
from rolling
left join churned using (partition_date)
