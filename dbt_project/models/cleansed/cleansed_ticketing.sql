-- Accepted ticketing rows (one per ticket_id); names dropped, contacts hashed,
-- invalid values sanitised to NULL (quality_issues says why).
select
    * exclude (record_status, payload_hash, is_attendee_id_valid, accepted_on_day)
      replace (
        case when is_attendee_id_valid then user_key end as user_key,
        case when ticket_type in ('VIP', 'Premium', 'General') then ticket_type end as ticket_type,
        case when venue_id in (select venue_id from {{ ref('venues') }}) then venue_id end as venue_id
      )
from {{ ref('int_ticketing_scored') }}
where {{ in_partition_window() }}
  and record_status = 'accepted'
