-- Daily revenue KPIs (reporting currency, integer minor units). A total is NULL
-- when it overflows BIGINT (macro sum_minor); kpi_daily flags such a day. A record
-- whose conversion overflowed (amount NULL, fx_status conversion_overflow, warned in
-- enriched) counts in no revenue, as in the metric layer's revenue.
select
    partition_date,
    partition_date as metric_date,
    {{ sum_minor('amount_reporting_minor') }} as revenue_total_minor,
    {{ sum_minor('amount_reporting_minor', where="revenue_stream = 'consumer'") }} as revenue_consumer_minor,
    {{ sum_minor('amount_reporting_minor', where="revenue_stream = 'b2b'") }} as revenue_b2b_minor,
    -{{ sum_minor('amount_reporting_minor', where="revenue_type = 'refund'") }} as refunds_minor,
    count(*) filter (where revenue_type = 'purchase') as purchases,
    count(distinct user_key) filter (where revenue_type = 'purchase') as payers
from {{ ref('fct_revenue') }}
where {{ in_partition_window() }}
group by all
