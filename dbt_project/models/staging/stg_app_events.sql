-- App events: fields extracted from the raw JSON and typed. Values that do not
-- cast stay NULL next to a validity flag; scoring happens in cleansed.
with source as (
    select * from {{ source('raw', 'app_events') }}
),

parsed as (
    select
        *,
        {{ json_text_fields('payload', [
        'event_id', 'event_type', 'occurred_at', 'user_id',
        'session_id', 'platform', 'properties.email', 'properties.phone',
        'properties.marketing_source', 'properties.country', 'properties.duration_seconds', 'properties.product_id',
        'properties.order_id', 'properties.quantity', 'properties.amount_minor', 'properties.currency',
        'properties.payment_method_id', 'properties.reason', 'properties.experiment_id', 'properties.variant',
        'properties.flag_type', 'properties.severity', 'properties.service', 'properties.error_code'
        ]) }} as doc
    from source
),

renamed as (
    select
        partition_date,
        source_file,
        line_number,
        md5(payload::varchar) as payload_hash,
        nullif(trim(doc.event_id), '') as event_id,
        lower(doc.event_type) as event_type,
        {{ try_timestamptz('doc.occurred_at') }} as occurred_at,
        {{ duplicate_json_key('payload', ['properties']) }} as duplicate_key,
        {{ pii_hash("doc.user_id") }} as user_key,
        coalesce(regexp_full_match(doc.user_id, 'usr_[0-9]+'), false) as is_user_id_valid,
        doc.session_id as session_id,
        doc.platform as platform,
        -- signup (PII leaves only as salted hashes)
        {{ pii_hash("doc.properties.email") }} as email_hash,
        {{ pii_hash("doc.properties.phone") }} as phone_hash,
        lower(doc.properties.marketing_source) as marketing_source,
        doc.properties.country as country_code,
        -- session_end
        {{ try_integer("doc.properties.duration_seconds") }} as session_duration_seconds,
        -- funnel, purchase, refund
        doc.properties.product_id as product_id,
        doc.properties.order_id as order_id,
        {{ try_integer("doc.properties.quantity") }} as quantity,
        {{ try_integer("doc.properties.amount_minor") }} as amount_minor,
        upper(doc.properties.currency) as currency_code,
        doc.properties.payment_method_id as payment_method_id,
        doc.properties.reason as refund_reason,
        -- experiments and operations
        doc.properties.experiment_id as experiment_id,
        doc.properties.variant as variant,
        doc.properties.flag_type as abuse_flag_type,
        doc.properties.severity as abuse_severity,
        doc.properties.service as error_service,
        doc.properties.error_code as error_code
    from parsed
)

select * from renamed
