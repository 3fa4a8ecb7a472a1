-- Accepted location reports (seed-000 score >= 50, deduplicated by report_id).
-- Invalid values are sanitised to NULL: an unknown attendee, a dwell time outside
-- 1..86400 s, an engagement status other than active/passive, coordinates outside
-- the venue. quality_issues keeps the reason.
with scored as (
    select * from {{ ref('int_location_reports_scored') }}
    where {{ in_partition_window() }}
      and record_status = 'accepted'
),

venues as (select venue_id, width_m, height_m from {{ ref('venues') }}),

sanitised as (
    select
        scored.* exclude (record_status, payload_hash, is_attendee_id_valid, duplicate_key, accepted_on_day)
          replace (
            case when is_attendee_id_valid then user_key end as user_key,
            case when dwell_seconds between 1 and 86400 then dwell_seconds end as dwell_seconds,
            case when engagement_status in ('active', 'passive') then engagement_status end as engagement_status,
            case when x_m between 0 and venues.width_m and y_m between 0 and venues.height_m then x_m end as x_m,
            case when x_m between 0 and venues.width_m and y_m between 0 and venues.height_m then y_m end as y_m
          )
    from scored
    left join venues using (venue_id)
)

select * from sanitised
