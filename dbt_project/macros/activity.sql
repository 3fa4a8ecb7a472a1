{# An app event that is user activity: a known user did something in the app.
   Operational events raised about or for a user (var non_activity_event_types:
   abuse flags, service errors) are not activity. Shared by DAU / WAU / MAU,
   churn and cohorts so they all count the same users. #}
{% macro is_activity_event(event_type='event_type', user_key='user_key') -%}
    ({{ user_key }} is not null and {{ event_type }} not in (
        {%- for t in var('non_activity_event_types') %}'{{ t }}'{{ ", " if not loop.last }}{% endfor -%}
    ))
{%- endmacro %}

{# The activity window W in days (var activity_window_days): MAU counts the W
   days ending on a day, churned users left MAU W days after their last
   activity, so a day's rolling KPIs read activity of day - W .. day. Dagster
   declares the same span as a partition mapping (bizintel_dagster/activity.py). #}
{% macro activity_window_days() -%}
    {%- set days = var('activity_window_days') | int -%}
    {%- if days < 7 -%}
        {{ exceptions.raise_compiler_error("activity_window_days must be at least 7 (WAU's window lies inside it), got " ~ days) }}
    {%- endif -%}
    {{ return(days) }}
{%- endmacro %}
