-- Daily zone KPIs: visits, engagement rate, verified share, attributed value.
select
    partition_date,
    partition_date as metric_date,
    count(*) as zone_visits,
    count(*) filter (where is_engaged) as engaged_visits,
    round(count(*) filter (where is_engaged) / count(*), 4) as engagement_rate,
    round(count(*) filter (where verification_status = 'verified') / count(*), 4) as verified_share,
    {{ sum_minor("attributed_value_minor") }} as sponsor_value_minor
from {{ ref('fct_zone_visits') }}
where {{ in_partition_window() }}
group by all
