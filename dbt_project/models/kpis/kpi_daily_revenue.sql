-- Daily revenue KPIs (reporting currency, integer minor units).
select
    partition_date,
    partition_date as metric_date,
    try_cast(sum(cast(amount_reporting_minor as hugeint)) as bigint) as revenue_total_minor,
    coalesce(try_cast(sum(cast(amount_reporting_minor as hugeint)) filter (where revenue_stream = 'consumer') as bigint), 0) as revenue_consumer_minor,
    coalesce(try_cast(sum(cast(amount_reporting_minor as hugeint)) filter (where revenue_stream = 'b2b') as bigint), 0) as revenue_b2b_minor,
    coalesce(-try_cast(sum(cast(amount_reporting_minor as hugeint)) filter (where revenue_type = 'refund') as bigint), 0) as refunds_minor,
    count(*) filter (where revenue_type = 'purchase') as purchases,
    count(distinct user_key) filter (where revenue_type = 'purchase') as payers
from {{ ref('fct_revenue') }}
where {{ in_partition_window() }}
group by all
