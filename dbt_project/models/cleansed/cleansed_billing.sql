-- Accepted billing: typed, deduplicated by billing_record_id, scored (>= quarantine threshold),
-- no clear PII. One partition window is replaced per run.
select * exclude (record_status, payload_hash)
from {{ ref('int_billing_scored') }}
where {{ in_partition_window() }}
  and record_status = 'accepted'
