-- The counts behind the experiment statistics, per experiment and variant. A user is
-- assigned to the variant of their first exposure; users exposed to more than one
-- variant are excluded (counted in excluded_users_in_several_variants of their first
-- variant). converted_users = assigned users with a conversion in the experiment at
-- or after their first exposure (a conversion before it does not count).
with events as (
    select experiment_id, variant, user_key, event_type, occurred_at, partition_date
    from {{ ref('enriched_app_events') }}
    where event_type in ('experiment_exposure', 'experiment_conversion')
      and experiment_id is not null
      and user_key is not null
),

assignment as (
    select
        experiment_id,
        user_key,
        first(variant order by occurred_at, variant) as variant,
        min(occurred_at) as first_exposed_at,
        min(partition_date) as first_exposure_date,
        max(partition_date) as last_exposure_date,
        count(*) as exposure_events,
        count(distinct variant) > 1 as in_several_variants
    from events
    where event_type = 'experiment_exposure' and variant is not null
    group by all
),

converted as (
    select assignment.experiment_id, assignment.user_key, count(*) as conversion_events
    from assignment
    join events as conversions
      on conversions.experiment_id = assignment.experiment_id
     and conversions.user_key = assignment.user_key
     and conversions.event_type = 'experiment_conversion'
     and conversions.occurred_at >= assignment.first_exposed_at
    group by all
)

select
    assignment.experiment_id,
    assignment.variant,
    assignment.variant = '{{ var("experiment_control_variant") }}' as is_control,
    count(*) filter (where not in_several_variants) as exposed_users,
    count(converted.user_key) filter (where not in_several_variants) as converted_users,
    coalesce(sum(exposure_events) filter (where not in_several_variants), 0) as exposure_events,
    coalesce(sum(converted.conversion_events) filter (where not in_several_variants), 0) as conversion_events,
    count(*) filter (where in_several_variants) as excluded_users_in_several_variants,
    min(first_exposure_date) as first_exposure_date,
    max(last_exposure_date) as last_exposure_date
from assignment
left join converted using (experiment_id, user_key)
group by all
