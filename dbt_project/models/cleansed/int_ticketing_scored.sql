-- Quality rules for the ticketing guest list.
{{ config(materialized='view') }}

{%- set rules = [
    {'when': "ticket_id is null", 'deduct': 100, 'reason': 'missing ticket_id'},
    {'when': "event_date is null or event_date <> partition_date", 'deduct': 100, 'reason': 'event_date missing or outside the partition day'},
    {'when': "not is_attendee_id_valid", 'deduct': 30, 'reason': 'missing or invalid attendee_id'},
    {'when': "ticket_type is null or ticket_type not in ('VIP', 'Premium', 'General')", 'deduct': 15, 'reason': 'invalid ticket_type'},
    {'when': "is_checked_in is null", 'deduct': 15, 'reason': 'invalid checked_in flag'},
    {'when': "venue_id is null or venue_id not in (select venue_id from venues)", 'deduct': 10, 'reason': 'unknown venue_id'},
] -%}

with staged as (
    select * from {{ ref('stg_ticketing') }}
),

venues as (select venue_id from {{ ref('venues') }}),

scored as (
    select
        *,
        {{ quality_score(rules) }} as quality_score,
        {{ quality_issues(rules) }} as rule_issues
    from staged
)

{{ record_outcome('scored', 'ticket_id', 'cleansed_ticketing') }}
