-- App events with first-touch source, product and payment-method attributes,
-- and money converted to the reporting currency in integer minor units via the
-- daily FX reference (as-of join: a weekend or holiday uses the last earlier rate).
with events as (
    select * from {{ ref('cleansed_app_events') }}
    where {{ in_partition_window() }}
),

users as (select user_key, first_touch_source, signed_up_at from {{ ref('dim_users') }}),
products as (select product_id, product_name, product_category from {{ ref('products') }}),
payment_methods as (select payment_method_id, payment_method_name from {{ ref('payment_methods') }}),
currencies as (select currency_code, minor_unit_exponent from {{ ref('currencies') }}),
fx as (select * from {{ fx_rates_to_reporting() }}),

reporting as (
    select minor_unit_exponent as reporting_exponent
    from currencies where currency_code = '{{ var("reporting_currency") }}'
),

joined as (
    select
        events.*,
        coalesce(users.first_touch_source, 'unknown') as first_touch_source,
        users.signed_up_at,
        products.product_name,
        products.product_category,
        payment_methods.payment_method_name,
        currencies.minor_unit_exponent,
        fx.rate_date as fx_rate_date,
        fx.rate_to_reporting
    from events
    left join users using (user_key)
    left join products using (product_id)
    left join payment_methods using (payment_method_id)
    left join currencies using (currency_code)
    asof left join fx
        on fx.currency_code = events.currency_code
       and fx.rate_date <= events.partition_date
)

select
    joined.* exclude (minor_unit_exponent, rate_to_reporting, reporting_exponent),
    {{ fx_status() }} as fx_status,
    {{ amount_reporting_minor() }} as amount_reporting_minor
from (select * from joined cross join reporting) as joined
