-- Days between the first and the last day with data that have no data, so a gap is
-- reported instead of silently skipped: no landing files at all (no kpi_daily row),
-- landing files without a line, or lines but no app events (the platform's
-- heartbeat: every real day has some).
with days as (
    select metric_date, has_data from {{ ref('kpi_daily') }}
),

bounds as (
    select min(metric_date) as first_day, max(metric_date) as last_day
    from days
    where has_data
),

spine as (
    select cast(unnest(generate_series(first_day, last_day, interval 1 day)) as date) as metric_date
    from bounds
),

sources as (
    select
        partition_date as metric_date,
        list(source order by source) filter (where lines_total > 0) as sources_with_lines,
        coalesce(sum(lines_total) filter (where source = 'app_events'), 0) as app_event_lines
    from {{ ref('dq_partition_stats') }}
    group by all
),

checked as (
    select
        spine.metric_date,
        case
            when days.metric_date is null then 'no landing files'
            when not days.has_data then 'landing files without lines'
            when coalesce(sources.app_event_lines, 0) = 0 then 'no app events'
        end as reason,
        coalesce(sources.sources_with_lines, []) as sources_with_lines
    from spine
    left join days using (metric_date)
    left join sources using (metric_date)
)

select
    metric_date as missing_date,
    reason,
    sources_with_lines,
    (select first_day from bounds) as data_first_day,
    (select last_day from bounds) as data_last_day
from checked
where reason is not null
