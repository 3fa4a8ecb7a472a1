-- Accepted B2B billing records (one per record id); an unknown account or plan is
-- sanitised to NULL (quality_issues says why).
select
    * exclude (record_status, payload_hash, duplicate_key, accepted_on_day)
      replace (
        case when account_id in (select account_id from {{ ref('accounts') }}) then account_id end as account_id,
        case when plan_id in (select plan_id from {{ ref('plans') }}) then plan_id end as plan_id
      )
from {{ ref('int_billing_scored') }}
where {{ in_partition_window() }}
  and record_status = 'accepted'
