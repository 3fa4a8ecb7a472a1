-- Ticketing guest list, typed; names, e-mails and phones leave only as hashes.
with source as (
    select * from {{ source('raw', 'ticketing') }}
),

parsed as (
    select
        *,
        {{ json_text_fields('payload', [
        'ticket_id', 'attendee_id', 'attendee_email', 'attendee_phone',
        'venue_id', 'event_date', 'ticket_type', 'checked_in',
        'checked_in_at'
        ]) }} as doc
    from source
),

renamed as (
    select
        partition_date,
        source_file,
        line_number,
        md5(payload::varchar) as payload_hash,
        nullif(trim(doc.ticket_id), '') as ticket_id,
        {{ pii_hash("doc.attendee_id") }} as user_key,
        coalesce(regexp_full_match(doc.attendee_id, 'usr_[0-9]+'), false) as is_attendee_id_valid,
        {{ pii_hash("doc.attendee_email") }} as email_hash,
        {{ pii_hash("doc.attendee_phone") }} as phone_hash,
        doc.venue_id as venue_id,
        try_cast(doc.event_date as date) as event_date,
        doc.ticket_type as ticket_type,
        case lower(doc.checked_in) when 'yes' then true when 'no' then false end as is_checked_in,
        {{ try_timestamptz("nullif(doc.checked_in_at, '')") }} as checked_in_at
    from parsed
)

select * from renamed
