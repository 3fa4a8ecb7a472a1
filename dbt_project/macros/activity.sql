{# An app event that is user activity: a known user did something in the app.
   Operational events raised about or for a user (var non_activity_event_types:
   abuse flags, service errors) are not activity. Shared by DAU / WAU / MAU,
   churn and cohorts so they all count the same users. #}
{% macro is_activity_event(event_type='event_type', user_key='user_key') -%}
    ({{ user_key }} is not null and {{ event_type }} not in (
        {%- for t in var('non_activity_event_types') %}'{{ t }}'{{ ", " if not loop.last }}{% endfor -%}
    ))
{%- endmacro %}
