-- Quality rules for B2B billing records.
{{ config(materialized='view') }}

{%- set rules = [
    {'when': "billing_record_id is null", 'deduct': 100, 'reason': 'missing record_id'},
    {'when': "record_type is null or record_type not in ('subscription_invoice', 'sponsorship_order')", 'deduct': 100, 'reason': 'unknown record_type'},
    {'when': "issued_at is null", 'deduct': 100, 'reason': 'missing or unparseable issued_at'},
    {'when': "issued_at is not null and " ~ local_date('issued_at') ~ " <> partition_date", 'deduct': 100, 'reason': 'issued_at outside the partition day'},
    {'when': "account_id is null or account_id not in (select account_id from accounts)", 'deduct': 30, 'reason': 'missing or unknown account_id'},
    {'when': "amount_minor is null or amount_minor < 0", 'deduct': 60, 'reason': 'missing, non-integer or negative amount_minor'},
    {'when': "currency_code is null or currency_code not in (select currency_code from currencies)", 'deduct': 60, 'reason': 'missing or unknown currency'},
    {'when': "record_type = 'subscription_invoice' and (plan_id is null or plan_id not in (select plan_id from plans) or period_start_date is null or period_end_date < period_start_date)", 'deduct': 15, 'reason': 'unknown plan or invalid service period'},
    {'when': "record_type = 'sponsorship_order' and (sponsorship_package is null or sponsorship_package not in ('bronze', 'silver', 'gold', 'platinum'))", 'deduct': 15, 'reason': 'unknown sponsorship package'},
    {'when': "billing_status is null or billing_status not in ('paid', 'open', 'void')", 'deduct': 10, 'reason': 'unknown status'},
] -%}

with staged as (
    select * from {{ ref('stg_billing') }}
),

accounts as (select account_id from {{ ref('accounts') }}),
currencies as (select currency_code from {{ ref('currencies') }}),
plans as (select plan_id from {{ ref('plans') }}),

scored as (
    select
        *,
        {{ quality_score(rules) }} as quality_score,
        {{ quality_issues(rules) }} as rule_issues
    from staged
)

select
    * exclude (rule_issues),
    list_concat(rule_issues, {{ conflicting_duplicate_issue('billing_record_id') }}) as quality_issues,
    {{ record_status('billing_record_id') }} as record_status
from scored
