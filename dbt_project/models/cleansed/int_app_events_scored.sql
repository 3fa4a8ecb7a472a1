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
    {'when': "event_type = 'refund' and order_id is not null and purchased_minor is null", 'deduct': 30, 'reason': 'refund for an order that was never purchased'},
    {'when': "event_type = 'refund' and amount_minor > purchased_minor", 'deduct': 30, 'reason': 'refund larger than its purchase'},
    {'when': "event_type in ('product_view', 'add_to_cart', 'checkout_started', 'purchase') and (product_id is null or product_id not in (select product_id from products))", 'deduct': 10, 'reason': 'unknown product_id'},
] -%}

with staged as (
    select * from {{ ref('stg_app_events') }}
),

currencies as (select currency_code from {{ ref('currencies') }}),
payment_methods as (select payment_method_id from {{ ref('payment_methods') }}),
products as (select product_id from {{ ref('products') }}),

{#- accepted purchases of earlier days; none in a unit test (no `this` there) #}
{%- set history = adapter.get_relation(database=this.database, schema=this.schema, identifier='cleansed_app_events') if execute and this is not none else none %}

refunded_orders as (
    select distinct order_id from staged
    where {{ in_partition_window() }} and event_type = 'refund' and order_id is not null
),

-- What each refunded order was bought for, in the refund's currency: the
-- window's purchases (each event id once) and the accepted purchases outside it.
-- Only the window's refunded orders are looked up, so the history read stays one
-- semi-join.
purchases as (
    select order_id, currency_code, sum(amount_minor) as purchased_minor
    from (
        -- one amount per purchase event id (a re-sent purchase counts once),
        -- the accepted one when the history has it
        select distinct on (event_id) event_id, order_id, currency_code, amount_minor
        from (
            select event_id, order_id, currency_code, amount_minor, false as accepted_earlier from staged
            where {{ in_partition_window() }} and event_type = 'purchase'
              and order_id in (select order_id from refunded_orders)
            {%- if history is not none %}
            union all
            select event_id, order_id, currency_code, amount_minor, true from {{ history }}
            where not ({{ in_partition_window() }}) and event_type = 'purchase'
              and order_id in (select order_id from refunded_orders)
            {%- endif %}
        )
        order by event_id, accepted_earlier desc
    )
    group by all
),

with_purchase as (
    select staged.*, purchases.purchased_minor
    from staged
    left join purchases
        on staged.event_type = 'refund' and purchases.order_id = staged.order_id
       and purchases.currency_code = staged.currency_code
),

scored as (
    select
        * exclude (purchased_minor),
        {{ quality_score(rules) }} as quality_score,
        {{ quality_issues(rules) }} as rule_issues
    from with_purchase
)

{{ record_outcome('scored', 'event_id', 'cleansed_app_events') }}
