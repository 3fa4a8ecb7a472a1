-- B2B billing records with the account hierarchy, plan and amounts in the
-- reporting currency (integer minor units, as-of FX like app events).
with billing as (
    select * from {{ ref('cleansed_billing') }}
    where {{ in_partition_window() }}
),

currencies as (select currency_code, minor_unit_exponent from {{ ref('currencies') }}),
fx as (select * from {{ fx_rates_to_reporting() }}),

reporting as (
    select minor_unit_exponent as reporting_exponent
    from currencies where currency_code = '{{ var("reporting_currency") }}'
),

joined as (
    select
        billing.*,
        accounts.account_name,
        accounts.account_level,
        accounts.segment,
        accounts.business_type,
        accounts.company_id,
        accounts.group_id,
        plans.plan_name,
        plans.billing_period,
        currencies.minor_unit_exponent,
        fx.rate_date as fx_rate_date,
        fx.rate_to_reporting
    from billing
    left join {{ ref('dim_accounts') }} as accounts using (account_id)
    left join {{ ref('plans') }} as plans using (plan_id)
    left join currencies using (currency_code)
    asof left join fx
        on fx.currency_code = billing.currency_code
       and fx.rate_date <= billing.partition_date
)

select
    joined.* exclude (minor_unit_exponent, rate_to_reporting, reporting_exponent),
    {{ fx_status() }} as fx_status,
    {{ amount_reporting_minor() }} as amount_reporting_minor
from (select * from joined cross join reporting) as joined
