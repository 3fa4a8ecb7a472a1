-- Abuse flags and service errors per business-local hour: 24 rows per day with
-- data, zeros included, so an alert rule ("> 50 abuse flags in an hour", seed 001)
-- sees every hour. hour_start_at is the hour's start as an instant (timestamptz);
-- hour_start_local and local_hour are the same hour on the business clock.
{%- set tz = var('business_timezone') %}

with days as (
    select partition_date
    from {{ ref('kpi_daily_quality') }}
    where {{ in_partition_window() }}
),

hours as (
    select
        days.partition_date,
        hours.local_hour,
        days.partition_date + to_hours(hours.local_hour) as hour_start_local
    from days
    cross join (select cast(range as integer) as local_hour from range(24)) as hours
),

operations as (
    select
        partition_date,
        cast(hour(timezone('{{ tz }}', occurred_at)) as integer) as local_hour,
        count(*) filter (where event_type = 'abuse_flag') as abuse_flags,
        count(*) filter (where event_type = 'service_error') as service_errors
    from {{ ref('enriched_app_events') }}
    where {{ in_partition_window() }}
      and event_type in ('abuse_flag', 'service_error')
    group by all
)

select
    hours.partition_date,
    hours.partition_date as metric_date,
    timezone('{{ tz }}', hours.hour_start_local) as hour_start_at,
    hours.hour_start_local,
    hours.local_hour,
    coalesce(operations.abuse_flags, 0) as abuse_flags,
    coalesce(operations.service_errors, 0) as service_errors
from hours
left join operations using (partition_date, local_hour)
