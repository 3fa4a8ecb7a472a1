-- Quality rules for location reports: seed 000's deductions exactly
-- (-30 attendee id, -20 dwell time, -15 engagement status, -10 coordinates).
{{ config(materialized='view') }}

{%- set rules = [
    {'when': "report_id is null", 'deduct': 100, 'reason': 'missing report_id'},
    {'when': "duplicate_key is not null", 'deduct': 100, 'reason_sql': "'duplicate key ' || duplicate_key"},
    {'when': "reported_at is null", 'deduct': 100, 'reason': 'missing or unparseable reported_at (ISO-8601 with an offset or Z required)'},
    {'when': "reported_at is not null and " ~ local_date('reported_at') ~ " <> partition_date", 'deduct': 100, 'reason': 'reported_at outside the partition day'},
    {'when': "not is_attendee_id_valid", 'deduct': 30, 'reason': 'missing or invalid attendee_id'},
    {'when': "dwell_seconds is null or dwell_seconds not between 1 and 86400", 'deduct': 20, 'reason': 'invalid dwell time'},
    {'when': "engagement_status is null or engagement_status not in ('active', 'passive')", 'deduct': 15, 'reason': 'invalid engagement status'},
    {'when': "x_m is null or y_m is null or venue_width_m is null or x_m not between 0 and venue_width_m or y_m not between 0 and venue_height_m", 'deduct': 10, 'reason': 'missing or out-of-range coordinates'},
] -%}

with staged as (
    select * from {{ ref('stg_location_reports') }}
),

venues as (
    select venue_id, width_m as venue_width_m, height_m as venue_height_m
    from {{ ref('venues') }}
),

joined as (
    select staged.*, venues.venue_width_m, venues.venue_height_m
    from staged
    left join venues using (venue_id)
),

scored as (
    select
        *,
        {{ quality_score(rules) }} as quality_score,
        {{ quality_issues(rules) }} as rule_issues
    from joined
),

scored_reports as (
    select * exclude (venue_width_m, venue_height_m) from scored
)

{{ record_outcome('scored_reports', 'report_id', 'cleansed_location_reports') }}
