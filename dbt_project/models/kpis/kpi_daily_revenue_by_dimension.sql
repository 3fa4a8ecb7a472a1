-- Daily revenue broken down by one dimension per row (long format, so adding a
-- breakdown is one entry in the lists below). Revenue dimensions come from
-- fct_revenue; zone and sponsor are attributed sponsor value from fct_zone_visits.
{%- set revenue_dimensions = ['payment_method_id', 'product_id', 'product_category', 'plan_id', 'revenue_type', 'revenue_stream', 'marketing_source'] %}
{%- set zone_dimensions = ['zone_id', 'sponsor_id'] %}

{% for dim in revenue_dimensions %}
select
    partition_date,
    partition_date as metric_date,
    'revenue' as measure,
    '{{ dim }}' as dimension,
    coalesce({{ dim }}, '(none)') as dimension_value,
    {{ sum_minor("amount_reporting_minor") }} as value_minor,
    count(*) as line_count
from {{ ref('fct_revenue') }}
where {{ in_partition_window() }}
group by all
union all
{% endfor %}
{%- for dim in zone_dimensions %}
select
    partition_date,
    partition_date as metric_date,
    'sponsor_value' as measure,
    '{{ dim }}' as dimension,
    {{ dim }} as dimension_value,
    {{ sum_minor("attributed_value_minor") }} as value_minor,
    count(*) as line_count
from {{ ref('fct_zone_visits') }}
where {{ in_partition_window() }}
group by all
{{ "union all" if not loop.last }}
{% endfor %}
