-- Per partition and source: every landing line accounted for, and the
-- partition's data-quality score (mean row score; an unparseable line scores 0,
-- duplicates, and repeats of an id accepted on another day, are not scored twice).
-- Feeds the quality and conservation checks.
{%- set sources = ['app_events', 'location_reports', 'ticketing', 'billing'] %}

with files as (
    select
        partition_date,
        source,
        cast(sum(lines_total) as bigint) as lines_total,
        count(*) filter (where status = 'rejected') as files_rejected
    from {{ source('raw', 'landing_files') }}
    where {{ in_partition_window() }}
    group by all
),

unparseable as (
    select partition_date, source, count(*) as lines_unparseable
    from {{ source('raw', 'rejected_lines') }}
    where {{ in_partition_window() }}
    group by all
),

records as (
    {%- for s in sources %}
    select
        partition_date,
        '{{ s }}' as source,
        count(*) as records_parsed,
        count(*) filter (where record_status = 'accepted') as records_accepted,
        count(*) filter (where record_status = 'quarantined') as records_quarantined,
        count(*) filter (where record_status = 'duplicate') as records_duplicate,
        -- quarantined (and counted there), but scored on the day the id was accepted
        count(*) filter (where record_status = 'quarantined' and accepted_on_day is not null) as records_repeated,
        cast(sum(quality_score) filter (where record_status <> 'duplicate' and accepted_on_day is null) as bigint) as score_sum
    from {{ ref('int_' ~ s ~ '_scored') }}
    where {{ in_partition_window() }}
    group by all
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

scored as (
    select
        files.partition_date,
        files.source,
        files.lines_total,
        files.files_rejected,
        coalesce(unparseable.lines_unparseable, 0) as lines_unparseable,
        coalesce(records.records_parsed, 0) as records_parsed,
        coalesce(records.records_accepted, 0) as records_accepted,
        coalesce(records.records_quarantined, 0) as records_quarantined,
        coalesce(records.records_duplicate, 0) as records_duplicate,
        coalesce(records.score_sum, 0) as quality_score_sum,
        coalesce(unparseable.lines_unparseable, 0) + coalesce(records.records_parsed, 0)
            - coalesce(records.records_duplicate, 0) - coalesce(records.records_repeated, 0) as quality_scored_lines
    from files
    left join unparseable using (partition_date, source)
    left join records using (partition_date, source)
)

select
    *,
    {{ partition_quality_score('quality_score_sum', 'quality_scored_lines') }} as quality_score,
    -- the day over all sources, on each of its rows: the blocking check reads it
    {{ partition_quality_score('sum(quality_score_sum) over day', 'sum(quality_scored_lines) over day') }}
        as partition_quality_score
from scored
window day as (partition by partition_date)
