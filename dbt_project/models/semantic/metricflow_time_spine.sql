-- MetricFlow's day spine (cumulative metrics and metrics filled per day join to it):
-- every day from the first to the last day the pipeline has processed, so a query
-- without dates spans the data, not the calendar. One row per day, rebuilt in the
-- unpartitioned analytics step from kpi_daily (one row per day): no per-day work.
select cast(unnest(generate_series(min(metric_date), max(metric_date), interval 1 day)) as date) as date_day
from {{ ref('kpi_daily') }}
having count(*) > 0
