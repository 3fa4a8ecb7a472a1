-- Purchase funnel per day, in distinct users: a user is counted at a step when they
-- did that step and every earlier one on the same day (view -> cart -> checkout ->
-- purchase), so each step is a subset of the one before and every rate is in [0, 1].
--   view_to_cart_rate = carts / viewers, cart_to_checkout_rate = checkouts / carts,
--   checkout_to_purchase_rate = purchasers / checkouts, funnel_conversion_rate = purchasers / viewers.
with steps as (
    select
        partition_date,
        user_key,
        bool_or(event_type = 'product_view') as viewed,
        bool_or(event_type = 'add_to_cart') as added_to_cart,
        bool_or(event_type = 'checkout_started') as started_checkout,
        bool_or(event_type = 'purchase') as purchased
    from {{ ref('enriched_app_events') }}
    where {{ in_partition_window() }}
      and user_key is not null
      and event_type in ('product_view', 'add_to_cart', 'checkout_started', 'purchase')
    group by all
),

counts as (
    select
        partition_date,
        count(*) filter (where viewed) as funnel_viewers,
        count(*) filter (where viewed and added_to_cart) as funnel_carts,
        count(*) filter (where viewed and added_to_cart and started_checkout) as funnel_checkouts,
        count(*) filter (where viewed and added_to_cart and started_checkout and purchased) as funnel_purchasers
    from steps
    group by all
)

select
    partition_date,
    partition_date as metric_date,
    funnel_viewers,
    funnel_carts,
    funnel_checkouts,
    funnel_purchasers,
    round(funnel_carts / nullif(funnel_viewers, 0), 4) as view_to_cart_rate,
    round(funnel_checkouts / nullif(funnel_carts, 0), 4) as cart_to_checkout_rate,
    round(funnel_purchasers / nullif(funnel_checkouts, 0), 4) as checkout_to_purchase_rate,
    round(funnel_purchasers / nullif(funnel_viewers, 0), 4) as funnel_conversion_rate
from counts
