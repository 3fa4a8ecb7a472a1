-- App events: fields extracted from the raw JSON and typed. Values that do not
-- cast stay NULL next to a validity flag; scoring happens in cleansed.
with source as (
    select * from {{ source('raw', 'app_events') }}
),

renamed as (
    select
        partition_date,
        source_file,
        line_number,
        md5(payload::varchar) as payload_hash,
        nullif(trim(payload ->> 'event_id'), '') as event_id,
        lower(payload ->> 'event_type') as event_type,
        try_cast(payload ->> 'occurred_at' as timestamptz) as occurred_at,
        {{ pii_hash("payload ->> 'user_id'") }} as user_key,
        coalesce(regexp_full_match(payload ->> 'user_id', 'usr_[0-9]+'), false) as is_user_id_valid,
        payload ->> 'session_id' as session_id,
        payload ->> 'platform' as platform,
        -- signup (PII leaves only as salted hashes)
        {{ pii_hash("payload -> 'properties' ->> 'email'") }} as email_hash,
        {{ pii_hash("payload -> 'properties' ->> 'phone'") }} as phone_hash,
        lower(payload -> 'properties' ->> 'marketing_source') as marketing_source,
        payload -> 'properties' ->> 'country' as country_code,
        -- session_end
        {{ try_integer("payload -> 'properties' ->> 'duration_seconds'") }} as session_duration_seconds,
        -- funnel, purchase, refund
        payload -> 'properties' ->> 'product_id' as product_id,
        payload -> 'properties' ->> 'order_id' as order_id,
        {{ try_integer("payload -> 'properties' ->> 'quantity'") }} as quantity,
        {{ try_integer("payload -> 'properties' ->> 'amount_minor'") }} as amount_minor,
        upper(payload -> 'properties' ->> 'currency') as currency_code,
        payload -> 'properties' ->> 'payment_method_id' as payment_method_id,
        payload -> 'properties' ->> 'reason' as refund_reason,
        -- experiments and operations
        payload -> 'properties' ->> 'experiment_id' as experiment_id,
        payload -> 'properties' ->> 'variant' as variant,
        payload -> 'properties' ->> 'flag_type' as abuse_flag_type,
        payload -> 'properties' ->> 'severity' as abuse_severity,
        payload -> 'properties' ->> 'service' as error_service,
        payload -> 'properties' ->> 'error_code' as error_code
    from source
)

select * from renamed
