-- One row per app user who signed up: sign-up time and first-touch marketing
-- source (the source on the earliest sign-up event). Rebuilt from all cleansed
-- sign-ups each run; sign-ups are a small share of events.
{{ config(materialized='table') }}

select
    user_key,
    min(occurred_at) as signed_up_at,
    {{ local_date('min(occurred_at)') }} as signup_date,
    arg_min(coalesce(marketing_source, 'unknown'), occurred_at) as first_touch_source,
    arg_min(country_code, occurred_at) as country_code
from {{ ref('cleansed_app_events') }}
where event_type = 'signup' and user_key is not null
group by user_key
