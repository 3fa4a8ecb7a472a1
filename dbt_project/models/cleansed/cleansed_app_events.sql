-- Accepted app events: typed, deduplicated by event_id, scored (>= quarantine
-- threshold), no clear PII. A value that cost the row points is set to NULL here
-- (the row's quality_issues say why), so no invalid value reaches a KPI.
with scored as (
    select * from {{ ref('int_app_events_scored') }}
    where {{ in_partition_window() }}
      and record_status = 'accepted'
)

select
    * exclude (record_status, payload_hash, is_user_id_valid, duplicate_key, accepted_on_day)
      replace (
        case when is_user_id_valid then user_key end as user_key,
        case when session_duration_seconds between 1 and 86400 then session_duration_seconds end as session_duration_seconds,
        case when payment_method_id in (select payment_method_id from {{ ref('payment_methods') }}) then payment_method_id end as payment_method_id,
        case when product_id in (select product_id from {{ ref('products') }}) then product_id end as product_id
      )
from scored
