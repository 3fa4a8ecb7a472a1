-- One row per day: the headline KPIs side by side. A day with landing files but
-- no activity shows zeros, not a gap; has_data=false marks a day with no lines.
-- To add a KPI: add a column to the domain model (kpi_daily_*) and select it here.
with days as (
    select metric_date, lines_total, data_quality_score, records_quarantined, records_duplicate
    from {{ ref('kpi_daily_quality') }}
    where {{ in_partition_window('metric_date') }}
),

revenue as (select * from {{ ref('kpi_daily_revenue') }} where {{ in_partition_window('metric_date') }}),
users as (select * from {{ ref('kpi_daily_users') }} where {{ in_partition_window('metric_date') }}),
zones as (select * from {{ ref('kpi_daily_zones') }} where {{ in_partition_window('metric_date') }})

select
    days.metric_date,
    days.metric_date as partition_date,
    days.lines_total > 0 as has_data,
    coalesce(revenue.revenue_total_minor, 0) as revenue_total_minor,
    coalesce(revenue.revenue_consumer_minor, 0) as revenue_consumer_minor,
    coalesce(revenue.revenue_b2b_minor, 0) as revenue_b2b_minor,
    coalesce(revenue.refunds_minor, 0) as refunds_minor,
    coalesce(revenue.purchases, 0) as purchases,
    coalesce(revenue.payers, 0) as payers,
    coalesce(users.dau, 0) as dau,
    coalesce(users.signups, 0) as signups,
    coalesce(users.sessions, 0) as sessions,
    users.avg_session_seconds,
    -- consumer revenue per active / paying user; the payer rate among active users
    round(coalesce(revenue.revenue_consumer_minor, 0) / nullif(users.dau, 0)) as arpu_minor,
    round(coalesce(revenue.revenue_consumer_minor, 0) / nullif(revenue.payers, 0)) as arppu_minor,
    round(coalesce(revenue.payers, 0) / nullif(users.dau, 0), 4) as payer_rate,
    coalesce(zones.zone_visits, 0) as zone_visits,
    zones.engagement_rate,
    zones.verified_share,
    coalesce(zones.sponsor_value_minor, 0) as sponsor_value_minor,
    days.data_quality_score,
    days.records_quarantined,
    days.records_duplicate
from days
left join revenue using (metric_date)
left join users using (metric_date)
left join zones using (metric_date)
