-- Daily data quality across all sources: lines in, accepted, quarantined,
-- duplicates, and the partition's data-quality score (line-weighted mean).
select
    partition_date,
    partition_date as metric_date,
    cast(sum(lines_total) as bigint) as lines_total,
    cast(sum(records_accepted) as bigint) as records_accepted,
    cast(sum(records_quarantined) as bigint) + cast(sum(lines_unparseable) as bigint) as records_quarantined,
    cast(sum(records_duplicate) as bigint) as records_duplicate,
    {{ partition_quality_score('sum(quality_score_sum)', 'sum(quality_scored_lines)') }} as data_quality_score
from {{ ref('dq_partition_stats') }}
where {{ in_partition_window() }}
group by all
