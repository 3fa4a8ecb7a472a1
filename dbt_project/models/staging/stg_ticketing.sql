-- Ticketing guest list, typed; names, e-mails and phones leave only as hashes.
with source as (
    select * from {{ source('raw', 'ticketing') }}
),

renamed as (
    select
        partition_date,
        source_file,
        line_number,
        md5(payload::varchar) as payload_hash,
        nullif(trim(payload ->> 'ticket_id'), '') as ticket_id,
        {{ pii_hash("payload ->> 'attendee_id'") }} as user_key,
        coalesce(regexp_full_match(payload ->> 'attendee_id', 'usr_[0-9]+'), false) as is_attendee_id_valid,
        {{ pii_hash("payload ->> 'attendee_email'") }} as email_hash,
        {{ pii_hash("payload ->> 'attendee_phone'") }} as phone_hash,
        payload ->> 'venue_id' as venue_id,
        try_cast(payload ->> 'event_date' as date) as event_date,
        payload ->> 'ticket_type' as ticket_type,
        case lower(payload ->> 'checked_in') when 'yes' then true when 'no' then false end as is_checked_in,
        try_cast(nullif(payload ->> 'checked_in_at', '') as timestamptz) as checked_in_at
    from source
)

select * from renamed
