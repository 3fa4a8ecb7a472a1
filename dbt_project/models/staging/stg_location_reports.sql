-- Location reports at venues (seed 000's CDV reports), typed.
with source as (
    select * from {{ source('raw', 'location_reports') }}
),

parsed as (
    select
        *,
        {{ json_text_fields('payload', [
        'report_id', 'attendee_id', 'venue_id', 'x',
        'y', 'dwell_time_seconds', 'engagement_status', 'reported_at'
        ]) }} as doc
    from source
),

renamed as (
    select
        partition_date,
        source_file,
        line_number,
        md5(payload::varchar) as payload_hash,
        nullif(trim(doc.report_id), '') as report_id,
        {{ pii_hash("doc.attendee_id") }} as user_key,
        coalesce(regexp_full_match(doc.attendee_id, 'usr_[0-9]+'), false) as is_attendee_id_valid,
        doc.venue_id as venue_id,
        try_cast(doc.x as double) as x_m,
        try_cast(doc.y as double) as y_m,
        {{ try_integer("doc.dwell_time_seconds") }} as dwell_seconds,
        doc.engagement_status as engagement_status,
        {{ try_timestamptz('doc.reported_at') }} as reported_at,
        {{ duplicate_json_key('payload') }} as duplicate_key
    from parsed
)

select * from renamed
