-- One row per day: the headline KPIs side by side. A day with landing files but
-- no activity shows zeros, not a gap; has_data=false marks a day with no lines.
-- A money total that overflowed BIGINT stays NULL
-- (macro sum_minor) and money_total_unknown marks the day: never shown as 0.
{%- set revenue_totals = ['revenue_total_minor', 'revenue_consumer_minor', 'revenue_b2b_minor', 'refunds_minor'] %}
-- To add a KPI: add a column to the domain model (kpi_daily_*) and select it here.
with days as (
    select metric_date, lines_total, data_quality_score, records_quarantined, records_duplicate
    from {{ ref('kpi_daily_quality') }}
    where {{ in_partition_window('metric_date') }}
),

revenue as (select * from {{ ref('kpi_daily_revenue') }} where {{ in_partition_window('metric_date') }}),
users as (select * from {{ ref('kpi_daily_users') }} where {{ in_partition_window('metric_date') }}),
active_users as (select * from {{ ref('kpi_daily_active_users') }} where {{ in_partition_window('metric_date') }}),
funnel as (select * from {{ ref('kpi_daily_funnel') }} where {{ in_partition_window('metric_date') }}),
zones as (select * from {{ ref('kpi_daily_zones') }} where {{ in_partition_window('metric_date') }}),

operations as (
    select
        metric_date,
        cast(sum(abuse_flags) as bigint) as abuse_flags,
        cast(sum(service_errors) as bigint) as service_errors,
        max(abuse_flags) as peak_hour_abuse_flags,
        max(service_errors) as peak_hour_service_errors
    from {{ ref('kpi_hourly_operations') }}
    where {{ in_partition_window('metric_date') }}
    group by all
)

select
    days.metric_date,
    days.metric_date as partition_date,
    days.lines_total > 0 as has_data,
    -- no revenue row = no revenue lines that day (0); a row's NULL = unknown
    {%- for total in revenue_totals %}
    case when revenue.metric_date is null then 0 else revenue.{{ total }} end as {{ total }},
    {%- endfor %}
    coalesce(revenue.purchases, 0) as purchases,
    coalesce(revenue.payers, 0) as payers,
    coalesce(users.dau, 0) as dau,
    coalesce(active_users.wau, 0) as wau,
    coalesce(active_users.mau, 0) as mau,
    active_users.stickiness,
    coalesce(active_users.churned_users, 0) as churned_users,
    coalesce(users.signups, 0) as signups,
    coalesce(users.sessions, 0) as sessions,
    users.avg_session_seconds,
    -- consumer revenue per active / paying user; the payer rate among active users
    round(case when revenue.metric_date is null then 0 else revenue.revenue_consumer_minor end / nullif(users.dau, 0)) as arpu_minor,
    round(revenue.revenue_consumer_minor / nullif(revenue.payers, 0)) as arppu_minor,
    round(coalesce(revenue.payers, 0) / nullif(users.dau, 0), 4) as payer_rate,
    coalesce(funnel.funnel_viewers, 0) as funnel_viewers,
    coalesce(funnel.funnel_carts, 0) as funnel_carts,
    coalesce(funnel.funnel_checkouts, 0) as funnel_checkouts,
    coalesce(funnel.funnel_purchasers, 0) as funnel_purchasers,
    funnel.view_to_cart_rate,
    funnel.cart_to_checkout_rate,
    funnel.checkout_to_purchase_rate,
    funnel.funnel_conversion_rate,
    coalesce(zones.zone_visits, 0) as zone_visits,
    zones.engagement_rate,
    zones.verified_share,
    case when zones.metric_date is null then 0 else zones.sponsor_value_minor end as sponsor_value_minor,
    (revenue.metric_date is not null and ({% for total in revenue_totals %}revenue.{{ total }} is null or {% endfor %}false))
        or (zones.metric_date is not null and zones.sponsor_value_minor is null) as money_total_unknown,
    coalesce(operations.abuse_flags, 0) as abuse_flags,
    coalesce(operations.service_errors, 0) as service_errors,
    coalesce(operations.peak_hour_abuse_flags, 0) as peak_hour_abuse_flags,
    coalesce(operations.peak_hour_service_errors, 0) as peak_hour_service_errors,
    days.data_quality_score,
    days.records_quarantined,
    days.records_duplicate
from days
left join revenue using (metric_date)
left join users using (metric_date)
left join active_users using (metric_date)
left join funnel using (metric_date)
left join zones using (metric_date)
left join operations using (metric_date)
