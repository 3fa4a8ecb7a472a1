-- Growth of each headline KPI vs the previous day, the same weekday a week before and
-- the same day a month before (calendar month; the 31st compares with the month's
-- last day): growth = (value - previous) / previous, NULL when there is no previous
-- value or it is 0. Long format: one row per day and metric (var kpi_growth_metrics
-- overrides the list of kpi_daily columns).
{%- set metrics = var('kpi_growth_metrics', [
    'revenue_total_minor', 'revenue_consumer_minor', 'revenue_b2b_minor', 'refunds_minor',
    'purchases', 'payers', 'dau', 'wau', 'mau', 'stickiness', 'churned_users', 'signups',
    'sessions', 'avg_session_seconds', 'arpu_minor', 'arppu_minor', 'payer_rate',
    'funnel_conversion_rate', 'zone_visits', 'engagement_rate', 'verified_share',
    'sponsor_value_minor', 'abuse_flags', 'service_errors', 'data_quality_score',
]) %}

with daily as (
    select * from {{ ref('kpi_daily') }}
),

metrics as (
    {%- for m in metrics %}
    select metric_date, '{{ m }}' as metric, cast({{ m }} as double) as value from daily
    {{ "union all" if not loop.last }}
    {%- endfor %}
)

select
    cur.metric_date,
    cur.metric,
    cur.value,
    prev_day.value as previous_day_value,
    round((cur.value - prev_day.value) / nullif(prev_day.value, 0), 4) as growth_vs_previous_day,
    prev_week.value as previous_week_value,
    round((cur.value - prev_week.value) / nullif(prev_week.value, 0), 4) as growth_vs_previous_week,
    prev_month.value as previous_month_value,
    round((cur.value - prev_month.value) / nullif(prev_month.value, 0), 4) as growth_vs_previous_month
from metrics as cur
left join metrics as prev_day
  on prev_day.metric = cur.metric and prev_day.metric_date = cur.metric_date - 1
left join metrics as prev_week
  on prev_week.metric = cur.metric and prev_week.metric_date = cur.metric_date - 7
left join metrics as prev_month
  on prev_month.metric = cur.metric and prev_month.metric_date = cast(cur.metric_date - interval 1 month as date)
