-- B2B billing records (subscription invoices, sponsorship orders), typed.
with source as (
    select * from {{ source('raw', 'billing') }}
),

renamed as (
    select
        partition_date,
        source_file,
        line_number,
        md5(payload::varchar) as payload_hash,
        nullif(trim(payload ->> 'record_id'), '') as billing_record_id,
        payload ->> 'record_type' as record_type,
        payload ->> 'account_id' as account_id,
        payload ->> 'plan_id' as plan_id,
        payload ->> 'package' as sponsorship_package,
        try_cast(payload ->> 'period_start' as date) as period_start_date,
        try_cast(payload ->> 'period_end' as date) as period_end_date,
        {{ try_integer("payload ->> 'amount_minor'") }} as amount_minor,
        upper(payload ->> 'currency') as currency_code,
        try_cast(payload ->> 'issued_at' as timestamptz) as issued_at,
        payload ->> 'status' as billing_status
    from source
)

select * from renamed
