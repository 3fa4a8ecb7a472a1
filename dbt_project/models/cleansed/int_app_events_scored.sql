-- Quality rules for app events (seed 000's deductions, extended to app events).
-- Every staged row gets a score, its issues and a status; nothing is dropped here.
{{ config(materialized='view') }}

{%- set money = "event_type in ('purchase', 'refund')" -%}
{%- set rules = [
    {'when': "event_id is null", 'deduct': 100, 'reason': 'missing event_id'},
    {'when': "event_type is null or event_type not in ('signup', 'session_start', 'session_end', 'product_view', 'add_to_cart', 'checkout_started', 'purchase', 'refund', 'experiment_exposure', 'experiment_conversion', 'abuse_flag', 'service_error')", 'deduct': 100, 'reason': 'unknown event_type'},
    {'when': "duplicate_key is not null", 'deduct': 100, 'reason_sql': "'duplicate key ' || duplicate_key"},
    {'when': "occurred_at is null", 'deduct': 100, 'reason': 'missing or unparseable occurred_at (ISO-8601 with an offset or Z required)'},
    {'when': "occurred_at is not null and " ~ local_date('occurred_at') ~ " <> partition_date", 'deduct': 100, 'reason': 'occurred_at outside the partition day'},
    {'when': "not is_user_id_valid", 'deduct': 30, 'reason': 'missing or invalid user_id'},
    {'when': "event_type = 'session_end' and (session_duration_seconds is null or session_duration_seconds not between 1 and 86400)", 'deduct': 20, 'reason': 'invalid session duration'},
    {'when': money ~ " and (amount_minor is null or amount_minor < 0)", 'deduct': 60, 'reason': 'missing, non-integer or negative amount_minor'},
    {'when': money ~ " and amount_minor > " ~ var('max_amount_minor'), 'deduct': 100, 'reason': 'amount_minor above the bound of ' ~ var('max_amount_minor') ~ ' minor units'},
    {'when': "event_type = 'purchase' and (quantity is null or quantity < 1)", 'deduct': 60, 'reason': 'missing, zero, negative, fractional or non-numeric quantity'},
    {'when': money ~ " and currency_code is not null and currency_code not in (select currency_code from currencies)", 'deduct': 60, 'reason': 'unknown currency'},
    {'when': money ~ " and currency_code is null", 'deduct': 60, 'reason': 'missing currency'},
    {'when': money ~ " and (payment_method_id is null or payment_method_id not in (select payment_method_id from payment_methods))", 'deduct': 15, 'reason': 'unknown payment_method_id'},
    {'when': "event_type in ('product_view', 'add_to_cart', 'checkout_started', 'purchase') and (product_id is null or product_id not in (select product_id from products))", 'deduct': 10, 'reason': 'unknown product_id'},
] -%}

with staged as (
    select * from {{ ref('stg_app_events') }}
),

currencies as (select currency_code from {{ ref('currencies') }}),
payment_methods as (select payment_method_id from {{ ref('payment_methods') }}),
products as (select product_id from {{ ref('products') }}),

scored as (
    select
        *,
        {{ quality_score(rules) }} as quality_score,
        {{ quality_issues(rules) }} as rule_issues
    from staged
)

{{ record_outcome('scored', 'event_id', 'cleansed_app_events') }}
