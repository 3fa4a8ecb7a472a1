-- Week (ISO, Monday start) and calendar-month roll-ups of the daily KPIs, with growth
-- vs the previous period. Additive KPIs are summed from kpi_daily; distinct counts
-- (active users, payers) and ratios are recomputed over the whole period from the
-- facts, never averaged from days.
{%- set periods = ['week', 'month'] %}

with daily as (
    select * from {{ ref('kpi_daily') }}
),

zones_daily as (
    select metric_date, engaged_visits from {{ ref('kpi_daily_zones') }}
),

activity as (
    select partition_date, user_key, event_type, session_duration_seconds
    from {{ ref('enriched_app_events') }}
    where {{ is_activity_event() }}
),

purchases as (
    select partition_date, user_key
    from {{ ref('fct_revenue') }}
    where revenue_type = 'purchase'
),

visits as (
    select partition_date, verification_status
    from {{ ref('fct_zone_visits') }}
),

{%- for period in periods %}

{{ period }}_totals as (
    select
        '{{ period }}' as period,
        cast(date_trunc('{{ period }}', daily.metric_date) as date) as period_start,
        count(*) as days_with_rows,
        count(*) filter (where daily.has_data) as days_with_data,
        {{ sum_minor('revenue_total_minor', unknown_if_null=true) }} as revenue_total_minor,
        {{ sum_minor('revenue_consumer_minor', unknown_if_null=true) }} as revenue_consumer_minor,
        {{ sum_minor('revenue_b2b_minor', unknown_if_null=true) }} as revenue_b2b_minor,
        {{ sum_minor('refunds_minor', unknown_if_null=true) }} as refunds_minor,
        cast(sum(purchases) as bigint) as purchases,
        cast(sum(signups) as bigint) as signups,
        cast(sum(sessions) as bigint) as sessions,
        round(avg(dau), 1) as avg_dau,
        cast(sum(churned_users) as bigint) as churned_users,
        cast(sum(zone_visits) as bigint) as zone_visits,
        cast(sum(zones_daily.engaged_visits) as bigint) as engaged_visits,
        {{ sum_minor('sponsor_value_minor', unknown_if_null=true) }} as sponsor_value_minor,
        cast(sum(abuse_flags) as bigint) as abuse_flags,
        cast(sum(service_errors) as bigint) as service_errors
    from daily
    left join zones_daily using (metric_date)
    group by all
),

{{ period }}_users as (
    select
        cast(date_trunc('{{ period }}', partition_date) as date) as period_start,
        count(distinct user_key) as active_users,
        round(avg(session_duration_seconds) filter (where event_type = 'session_end'), 1) as avg_session_seconds
    from activity
    group by all
),

{{ period }}_payers as (
    select cast(date_trunc('{{ period }}', partition_date) as date) as period_start, count(distinct user_key) as payers
    from purchases
    group by all
),

{{ period }}_visits as (
    select
        cast(date_trunc('{{ period }}', partition_date) as date) as period_start,
        count(*) filter (where verification_status = 'verified') as verified_visits
    from visits
    group by all
),

{{ period }}_rollup as (
    select
        totals.*,
        cast(totals.period_start + interval 1 {{ period }} as date) - totals.period_start as days_in_period,
        coalesce(users.active_users, 0) as active_users,
        users.avg_session_seconds,
        coalesce(payers.payers, 0) as payers,
        coalesce(visits.verified_visits, 0) as verified_visits
    from {{ period }}_totals as totals
    left join {{ period }}_users as users using (period_start)
    left join {{ period }}_payers as payers using (period_start)
    left join {{ period }}_visits as visits using (period_start)
),
{%- endfor %}

rollups as (
    {%- for period in periods %}
    select * from {{ period }}_rollup
    {{ "union all by name" if not loop.last }}
    {%- endfor %}
),

measures as (
    select
        period,
        period_start,
        cast(period_start + case period when 'week' then interval 1 week else interval 1 month end as date) - 1 as period_end,
        days_in_period,
        days_with_data,
        days_with_rows = days_in_period as is_complete,
        revenue_total_minor,
        revenue_consumer_minor,
        revenue_b2b_minor,
        refunds_minor,
        purchases,
        payers,
        active_users,
        avg_dau,
        round(avg_dau / nullif(active_users, 0), 4) as stickiness,
        signups,
        churned_users,
        sessions,
        avg_session_seconds,
        round(revenue_consumer_minor / nullif(active_users, 0)) as arpu_minor,
        round(revenue_consumer_minor / nullif(payers, 0)) as arppu_minor,
        round(payers / nullif(active_users, 0), 4) as payer_rate,
        zone_visits,
        round(engaged_visits / nullif(zone_visits, 0), 4) as engagement_rate,
        round(verified_visits / nullif(zone_visits, 0), 4) as verified_share,
        sponsor_value_minor,
        abuse_flags,
        service_errors
    from rollups
)

select
    cur.*,
    {%- for m in ['revenue_total_minor', 'active_users', 'payers', 'arpu_minor', 'purchases', 'sessions'] %}
    round((cur.{{ m }} - prev.{{ m }}) / nullif(prev.{{ m }}, 0), 4) as {{ m | replace('_minor', '') }}_growth{{ "," if not loop.last }}
    {%- endfor %}
from measures as cur
left join measures as prev
  on prev.period = cur.period
 and prev.period_start = cast(cur.period_start - case cur.period when 'week' then interval 1 week else interval 1 month end as date)
