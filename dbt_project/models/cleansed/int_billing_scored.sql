-- Quality rules for B2B billing records.
{{ config(materialized='view') }}

{%- set rules = [
    {'when': "billing_record_id is null", 'deduct': 100, 'reason': 'missing record_id'},
    {'when': "record_type is null or record_type not in ('subscription_invoice', 'sponsorship_order')", 'deduct': 100, 'reason': 'unknown record_type'},
    {'when': "duplicate_key is not null", 'deduct': 100, 'reason_sql': "'duplicate key ' || duplicate_key"},
    {'when': "issued_at is null", 'deduct': 100, 'reason': 'missing or unparseable issued_at (ISO-8601 with an offset or Z required)'},
    {'when': "issued_at is not null and " ~ local_date('issued_at') ~ " <> partition_date", 'deduct': 100, 'reason': 'issued_at outside the partition day'},
    {'when': "account_id is null or account_id not in (select account_id from accounts)", 'deduct': 30, 'reason': 'missing or unknown account_id'},
    {'when': "amount_minor is null or amount_minor < 0", 'deduct': 60, 'reason': 'missing, non-integer or negative amount_minor'},
    {'when': "amount_minor > " ~ var('max_amount_minor'), 'deduct': 100, 'reason': 'amount_minor above the bound of ' ~ var('max_amount_minor') ~ ' minor units'},
    {'when': "currency_code is null or currency_code not in (select currency_code from currencies)", 'deduct': 60, 'reason': 'missing or unknown currency'},
    {'when': "period_end_date < period_start_date", 'deduct': 100, 'reason': 'period_end before period_start'},
    {'when': "record_type = 'subscription_invoice' and (plan_id is null or plan_billing_period is null or period_start_date is null or period_end_date is null)", 'deduct': 15, 'reason': 'unknown plan or invalid service period'},
    {'when': "record_type = 'subscription_invoice' and period_end_date >= period_start_date and plan_billing_period is not null and date_diff('day', period_start_date, period_end_date) + 1 not between (case plan_billing_period when 'annual' then 365 else 28 end) and (case plan_billing_period when 'annual' then 366 else 31 end)", 'deduct': 30, 'reason': 'service period length disagrees with the plan billing_period'},
    {'when': "record_type = 'sponsorship_order' and (sponsorship_package is null or sponsorship_package not in ('bronze', 'silver', 'gold', 'platinum'))", 'deduct': 15, 'reason': 'unknown sponsorship package'},
    {'when': "billing_status is null or billing_status not in ('paid', 'open', 'void')", 'deduct': 10, 'reason': 'unknown status'},
] -%}

with staged as (
    select * from {{ ref('stg_billing') }}
),

accounts as (select account_id from {{ ref('accounts') }}),
currencies as (select currency_code from {{ ref('currencies') }}),
plans as (select plan_id, billing_period as plan_billing_period from {{ ref('plans') }}),

planned as (
    select staged.*, plans.plan_billing_period
    from staged
    left join plans using (plan_id)
),

scored as (
    select
        *,
        {{ quality_score(rules) }} as quality_score,
        {{ quality_issues(rules) }} as rule_issues
    from planned
),

scored_records as (
    select * exclude (plan_billing_period) from scored
)

{{ record_outcome('scored_records', 'billing_record_id', 'cleansed_billing', 'record_id') }}
