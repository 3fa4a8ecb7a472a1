-- Revenue concentration (Pareto) of B2B accounts, overall and per segment: the share of
-- revenue to date that the top 20 % of accounts with revenue bring in (top_n =
-- ceil(0.2 x accounts with revenue)), and the largest account's share.
with accounts as (
    select account_id, segment, revenue_to_date_minor
    from {{ ref('account_scorecard') }}
    where revenue_to_date_minor > 0
),

scoped as (
    select 'all' as scope, account_id, revenue_to_date_minor from accounts
    union all
    select 'segment:' || segment, account_id, revenue_to_date_minor from accounts
),

ranked as (
    select
        *,
        row_number() over (partition by scope order by revenue_to_date_minor desc, account_id) as revenue_rank,
        count(*) over (partition by scope) as accounts_with_revenue
    from scoped
)

select
    scope,
    max(accounts_with_revenue) as accounts_with_revenue,
    cast(ceil(0.2 * max(accounts_with_revenue)) as bigint) as top_20_percent_accounts,
    {{ sum_minor('revenue_to_date_minor') }} as revenue_to_date_minor,
    round(sum(revenue_to_date_minor) filter (where revenue_rank <= ceil(0.2 * accounts_with_revenue))
          / sum(revenue_to_date_minor), 4) as top_20_percent_revenue_share,
    round(max(revenue_to_date_minor) / sum(revenue_to_date_minor), 4) as top_account_revenue_share
from ranked
group by scope
