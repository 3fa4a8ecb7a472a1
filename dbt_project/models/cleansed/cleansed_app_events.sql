-- Accepted app events: typed, deduplicated by event_id, scored (>= quarantine threshold),
-- no clear PII. One partition window is replaced per run.
select * exclude (record_status, payload_hash)
from {{ ref('int_app_events_scored') }}
where {{ in_partition_window() }}
  and record_status = 'accepted'
