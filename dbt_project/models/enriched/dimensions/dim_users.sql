-- One row per app user who signed up: sign-up time and first-touch marketing
-- source (the source on the earliest sign-up event). Rebuilt from all cleansed
-- sign-ups each run; sign-ups are a small share of events.
-- The gate between the cleansed layer and the business layer: this step (and so
-- every step after it) runs only once the cleansed step's blocking checks passed,
-- partition quality on dq_partition_stats and conservation on quarantine_records.
-- Dagster makes a step wait for the blocking checks of the assets it reads, hence
-- these two dependencies, which the SQL does not read.
-- depends_on: {{ ref('dq_partition_stats') }}, {{ ref('quarantine_records') }}

select
    user_key,
    min(occurred_at) as signed_up_at,
    {{ local_date('min(occurred_at)') }} as signup_date,
    arg_min(coalesce(marketing_source, 'unknown'), occurred_at) as first_touch_source,
    arg_min(country_code, occurred_at) as country_code
from {{ ref('cleansed_app_events') }}
where event_type = 'signup' and user_key is not null
group by user_key
