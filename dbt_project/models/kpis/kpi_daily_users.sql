-- Daily user activity: DAU (distinct users with an accepted activity event, i.e.
-- any app event but abuse flags and service errors), sign-ups, sessions and
-- their average duration.
select
    partition_date,
    partition_date as metric_date,
    count(distinct user_key) filter (where {{ is_activity_event() }}) as dau,
    count(*) filter (where event_type = 'signup') as signups,
    count(*) filter (where event_type = 'session_start') as sessions,
    round(avg(session_duration_seconds) filter (where event_type = 'session_end'), 1) as avg_session_seconds
from {{ ref('enriched_app_events') }}
where {{ in_partition_window() }}
group by all
