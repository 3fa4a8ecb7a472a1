-- Everything rejected, with a reason a person can act on: lines that could not be
-- parsed (from the raw loader) and records that scored below the threshold or
-- reused an id with different content. Holds no payload: the raw line stays in
-- the private raw schema (raw.rejected_lines.line_excerpt), never in analysts' copy.
{%- set scored = [
    ('app_events', 'event_id'),
    ('location_reports', 'report_id'),
    ('ticketing', 'ticket_id'),
    ('billing', 'billing_record_id'),
] %}

with unparseable as (
    select
        partition_date,
        source,
        source_file,
        line_number,
        cast(null as varchar) as record_id,
        0 as quality_score,
        [reason] as quality_issues
    from {{ source('raw', 'rejected_lines') }}
    where {{ in_partition_window() }}
),

{% for source_name, id_column in scored %}
rejected_{{ source_name }} as (
    select
        partition_date,
        '{{ source_name }}' as source,
        source_file,
        line_number,
        {{ id_column }} as record_id,
        quality_score,
        quality_issues
    from {{ ref('int_' ~ source_name ~ '_scored') }}
    where {{ in_partition_window() }}
      and record_status = 'quarantined'
),
{% endfor %}

unioned as (
    select * from unparseable
    {%- for source_name, _ in scored %}
    union all
    select * from rejected_{{ source_name }}
    {%- endfor %}
)

select
    *,
    array_to_string(quality_issues, '; ') as reason
from unioned
