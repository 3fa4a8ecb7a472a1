-- Attributed sponsor value per zone visit (seed 000):
--   value = dwell_minutes / 60 x hourly_rate x (1.5 if engagement is active else 1.0)
-- in exact integer arithmetic on minor units (rounded half up; 0 without a valid
-- dwell time, is_value_attributable = false), with the visit's
-- verification status: verified = checked-in ticket and confident zone detection.
{%- set multiplier_x10 = (var('active_engagement_multiplier') * 10) | int %}

with reports as (
    select * from {{ ref('enriched_location_reports') }}
    where {{ in_partition_window() }}
      and zone_id is not null
)

select
    partition_date,
    report_id as zone_visit_id,
    reported_at,
    user_key,
    venue_id,
    zone_id,
    zone_name,
    sponsor_id,
    sponsor_name,
    dwell_seconds,
    round(dwell_seconds / 60.0, 2) as dwell_minutes,
    engagement_status,
    engagement_status = 'active' as is_engaged,
    hourly_rate_minor,
    detection_confidence,
    ticket_type,
    is_checked_in,
    -- no valid dwell time, no attributable value (the visit still counts)
    -- HUGEINT so the product cannot overflow; NULL if the value does not fit BIGINT
    case
        when dwell_seconds is null or hourly_rate_minor is null then 0
        else try_cast(
            (cast(dwell_seconds as hugeint) * hourly_rate_minor
                * case when engagement_status = 'active' then {{ multiplier_x10 }} else 10 end
                + 18000) // 36000
            as bigint)
    end as attributed_value_minor,
    dwell_seconds is not null and hourly_rate_minor is not null as is_value_attributable,
    case
        when is_checked_in and detection_confidence >= 0.8 then 'verified'
        when is_checked_in then 'unverified_low_confidence'
        else 'unverified_no_checkin'
    end as verification_status
from reports
