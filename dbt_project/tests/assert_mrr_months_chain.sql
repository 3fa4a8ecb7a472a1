-- Each month starts where the previous one ended: start_mrr(m) = end_mrr(m - 1),
-- and the first month starts from zero (its subscriptions are the opening balance).
with months as (
    select
        month_start,
        start_mrr_minor,
        lag(end_mrr_minor) over (order by month_start) as previous_end_mrr_minor,
        lag(month_start) over (order by month_start) as previous_month_start
    from {{ ref('mrr_monthly') }}
)

select *
from months
where start_mrr_minor <> coalesce(previous_end_mrr_minor, 0)
   or (previous_month_start is not null and previous_month_start <> cast(month_start - interval 1 month as date))
