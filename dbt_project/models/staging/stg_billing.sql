-- B2B billing records (subscription invoices, sponsorship orders), typed.
with source as (
    select * from {{ source('raw', 'billing') }}
),

parsed as (
    select
        *,
        {{ json_text_fields('payload', [
        'record_id', 'record_type', 'account_id', 'plan_id',
        'package', 'period_start', 'period_end', 'amount_minor',
        'currency', 'issued_at', 'status'
        ]) }} as doc
    from source
),

renamed as (
    select
        partition_date,
        source_file,
        line_number,
        md5(payload::varchar) as payload_hash,
        nullif(trim(doc.record_id), '') as billing_record_id,
        doc.record_type as record_type,
        doc.account_id as account_id,
        doc.plan_id as plan_id,
        doc.package as sponsorship_package,
        try_cast(doc.period_start as date) as period_start_date,
        try_cast(doc.period_end as date) as period_end_date,
        {{ try_integer("doc.amount_minor") }} as amount_minor,
        upper(doc.currency) as currency_code,
        {{ try_timestamptz('doc.issued_at') }} as issued_at,
        {{ duplicate_json_key('payload') }} as duplicate_key,
        -- 'VOID' and ' Paid ' mean void and paid
        nullif(lower(trim(doc.status)), '') as billing_status
    from parsed
)

select * from renamed
