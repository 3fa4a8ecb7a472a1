-- Daily user activity: DAU (distinct users with any accepted app event),
-- sign-ups, sessions and their average duration.
select
    partition_date,
    partition_date as metric_date,
    count(distinct user_key) as dau,
    count(*) filter (where event_type = 'signup') as signups,
    count(*) filter (where event_type = 'session_start') as sessions,
    round(avg(session_duration_seconds) filter (where event_type = 'session_end'), 1) as avg_session_seconds
from {{ ref('enriched_app_events') }}
where {{ in_partition_window() }}
group by all
