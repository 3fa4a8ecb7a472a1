-- Every revenue line in the reporting currency (integer minor units):
-- consumer purchases (+), refunds (-), B2B subscription invoices and sponsorship
-- orders (void records excluded). One grain for every revenue KPI.
with consumer as (
    select
        partition_date,
        event_id as revenue_id,
        event_type as revenue_type,
        'consumer' as revenue_stream,
        occurred_at,
        user_key,
        cast(null as varchar) as account_id,
        product_id,
        product_category,
        payment_method_id,
        cast(null as varchar) as plan_id,
        first_touch_source as marketing_source,
        currency_code,
        case when event_type = 'refund' then -amount_minor else amount_minor end as amount_minor,
        case when event_type = 'refund' then -amount_reporting_minor else amount_reporting_minor end as amount_reporting_minor,
        fx_status
    from {{ ref('enriched_app_events') }}
    where {{ in_partition_window() }}
      and event_type in ('purchase', 'refund')
),

b2b as (
    select
        partition_date,
        billing_record_id as revenue_id,
        record_type as revenue_type,
        'b2b' as revenue_stream,
        issued_at as occurred_at,
        cast(null as varchar) as user_key,
        account_id,
        cast(null as varchar) as product_id,
        cast(null as varchar) as product_category,
        cast(null as varchar) as payment_method_id,
        plan_id,
        cast(null as varchar) as marketing_source,
        currency_code,
        amount_minor,
        amount_reporting_minor,
        fx_status
    from {{ ref('enriched_billing') }}
    where {{ in_partition_window() }}
      and billing_status <> 'void'
)

select * from consumer
union all
select * from b2b
