{# Per-row quality score and issue list from a list of rules
   (seed 000: start at 100, subtract each failing rule's deduction, floor at 0).
   A rule is {when: <sql condition>, deduct: <points>, reason: <text>}; a fatal rule
   deducts 100 so the row is always quarantined. A rule may give `reason_sql`, an
   SQL text expression, instead of `reason` when the reason names a value. #}
{% macro quality_score(rules) -%}
    greatest(0, 100
    {%- for r in rules %}
        - case when {{ r.when }} then {{ r.deduct }} else 0 end
    {%- endfor %}
    )
{%- endmacro %}

{% macro quality_issues(rules) -%}
    list_filter([
    {%- for r in rules %}
        case when {{ r.when }} then {{ r.reason_sql if r.reason_sql else "'" ~ r.reason ~ "'" }} || ' (-{{ r.deduct }})' end{{ "," if not loop.last }}
    {%- endfor %}
    ], lambda x: x is not null)
{%- endmacro %}

{# The tail of every scored model: ranks each record within its day and across
   days, and gives it its status. `scored` is the CTE holding quality_score and
   rule_issues; the macro emits the CTEs that follow it and the final select.

   Within a day: exact repeats of the kept record are duplicates (counted, not
   kept); a different record reusing the id is quarantined so a person can decide.

   Across days: an id is accepted on one day only. A record whose id is already
   accepted on another day is quarantined with a reason naming that day. "Already
   accepted" means: in the cleansed table on a day outside the run's window (the
   history; its rows inside the window are being replaced, so they never count),
   or on an earlier day of the window itself. So the first day processed keeps
   the id: re-running day D keeps D's copy when D+1's copy was quarantined, and a
   late file for D does not make D's copy count while D+1's copy is the accepted
   one (D's is quarantined naming D+1). The cross-day test applies to the window
   the view was built with (the run's); each day's committed outcome is in the
   cleansed tables and quarantine_records.

   `accepted_on_day` stays on the row: dq_partition_stats does not score such a
   repeat again (it was scored on the day it was accepted), so a day's file re-sent
   into the next day's folder is quarantined without failing that day's quality
   check; the cleansed models drop the column (NULL on every accepted row).

   Cost: the window's ids are semi-joined against one column of the history,
   a hash join whose build side is the window; nothing else reads the history. #}
{% macro record_outcome(scored, id_column, cleansed_model, id_label=none) -%}
    {%- set label = id_label or id_column -%}
    {#- no history in a unit test (no `this` there): its given rows are the window -#}
    {%- set history_relation = adapter.get_relation(database=this.database, schema=this.schema, identifier=cleansed_model) if execute and this is not none else none -%}
    , ranked as not materialized (
        select
            *,
            row_number() over day_order as day_rank,
            payload_hash = first_value(payload_hash) over day_order as is_day_first_copy
        from {{ scored }}
        window day_order as (partition by partition_date, {{ id_column }} order by quality_score desc, source_file, line_number)
    ),

    window_first_day as (
        -- earliest day in the window on which the id passes the rules
        select {{ id_column }} as id, min(partition_date) as first_day
        from ranked
        where {{ in_partition_window() }}
          and {{ id_column }} is not null and day_rank = 1
          and quality_score >= {{ var('quarantine_below_score') }}
        group by all
    ),

    history as (
        {%- if history_relation is not none %}
        select {{ id_column }} as id, min(partition_date) as first_day
        from {{ history_relation }}
        where not ({{ in_partition_window() }})
          and {{ id_column }} in (select {{ id_column }} from ranked where {{ in_partition_window() }} and {{ id_column }} is not null)
        group by all
        {%- else %}
        select cast(null as varchar) as id, cast(null as date) as first_day
        where false
        {%- endif %}
    ),

    outcome as (
        select
            ranked.*,
            coalesce(
                history.first_day,
                case when window_first_day.first_day < ranked.partition_date then window_first_day.first_day end
            ) as accepted_on_day
        from ranked
        left join history
            on history.id = ranked.{{ id_column }} and {{ in_partition_window('ranked.partition_date') }}
        left join window_first_day
            on window_first_day.id = ranked.{{ id_column }} and {{ in_partition_window('ranked.partition_date') }}
    )

    select
        * exclude (rule_issues, day_rank, is_day_first_copy)
          replace (
            case when accepted_on_day is not null then 0 else quality_score end as quality_score
          ),
        list_concat(
            rule_issues,
            case when quality_score >= {{ var('quarantine_below_score') }} and {{ id_column }} is not null
                      and day_rank > 1 and not is_day_first_copy
                 then ['{{ label }} reused by a different record'] else [] end,
            case when accepted_on_day is not null
                 then ['{{ label }} already accepted on ' || strftime(accepted_on_day, '%Y-%m-%d') || ' (-100)'] else [] end
        ) as quality_issues,
        case
            when quality_score < {{ var('quarantine_below_score') }} then 'quarantined'
            when {{ id_column }} is null then 'accepted'
            when day_rank = 1 and accepted_on_day is not null then 'quarantined'
            when day_rank = 1 then 'accepted'
            when is_day_first_copy then 'duplicate'
            else 'quarantined'
        end as record_status
    from outcome
{%- endmacro %}

{# Local business date of a timestamp, in the configured time zone. #}
{% macro local_date(ts) -%}
    cast(timezone('{{ var("business_timezone") }}', {{ ts }}) as date)
{%- endmacro %}

{# The data-quality score of a set of lines, 0-100, 2 decimals: the sum of the row
   scores / the scored lines (an unparseable line scores 0; duplicates and repeats of
   an id accepted on another day are not scored again). The one formula behind
   dq_partition_stats.quality_score (per source), .partition_quality_score (per day,
   all sources: what the blocking check compares with var quality_bar) and
   kpi_daily.data_quality_score; the semantic layer's quality_score is the same
   ratio over any period. Arguments are SQL expressions (sums). #}
{% macro partition_quality_score(score_sum, scored_lines) -%}
    round(cast({{ score_sum }} as double) / nullif({{ scored_lines }}, 0), 2)
{%- endmacro %}
