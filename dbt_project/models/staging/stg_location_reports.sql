-- Location reports at venues (seed 000's CDV reports), typed.
with source as (
    select * from {{ source('raw', 'location_reports') }}
),

renamed as (
    select
        partition_date,
        source_file,
        line_number,
        md5(payload::varchar) as payload_hash,
        nullif(trim(payload ->> 'report_id'), '') as report_id,
        {{ pii_hash("payload ->> 'attendee_id'") }} as user_key,
        coalesce(regexp_full_match(payload ->> 'attendee_id', 'usr_[0-9]+'), false) as is_attendee_id_valid,
        payload ->> 'venue_id' as venue_id,
        try_cast(payload ->> 'x' as double) as x_m,
        try_cast(payload ->> 'y' as double) as y_m,
        {{ try_integer("payload ->> 'dwell_time_seconds'") }} as dwell_seconds,
        payload ->> 'engagement_status' as engagement_status,
        try_cast(payload ->> 'reported_at' as timestamptz) as reported_at
    from source
)

select * from renamed
