-- Daily revenue KPIs (reporting currency, integer minor units). A total is NULL
-- when it overflows BIGINT or includes an amount that could not be converted
-- (macro sum_minor); kpi_daily flags such a day.
select
    partition_date,
    partition_date as metric_date,
    {{ sum_minor('amount_reporting_minor', unknown_if_null=true) }} as revenue_total_minor,
    {{ sum_minor('amount_reporting_minor', where="revenue_stream = 'consumer'", unknown_if_null=true) }} as revenue_consumer_minor,
    {{ sum_minor('amount_reporting_minor', where="revenue_stream = 'b2b'", unknown_if_null=true) }} as revenue_b2b_minor,
    -{{ sum_minor('amount_reporting_minor', where="revenue_type = 'refund'", unknown_if_null=true) }} as refunds_minor,
    count(*) filter (where revenue_type = 'purchase') as purchases,
    count(distinct user_key) filter (where revenue_type = 'purchase') as payers
from {{ ref('fct_revenue') }}
where {{ in_partition_window() }}
group by all
