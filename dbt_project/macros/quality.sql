{# Per-row quality score and issue list from a list of rules
   (seed 000: start at 100, subtract each failing rule's deduction, floor at 0).
   A rule is {when: <sql condition>, deduct: <points>, reason: <text>}; a fatal rule
   deducts 100 so the row is always quarantined. #}
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
        case when {{ r.when }} then '{{ r.reason }} (-{{ r.deduct }})' end{{ "," if not loop.last }}
    {%- endfor %}
    ], lambda x: x is not null)
{%- endmacro %}

{# accepted / quarantined / duplicate, shared by every scored model:
   exact repeats of a kept record are duplicates (counted, not kept); a different
   record reusing an id is quarantined so a person can decide. #}
{% macro record_status(id_column) -%}
    case
        when quality_score < {{ var('quarantine_below_score') }} then 'quarantined'
        when {{ id_column }} is null then 'accepted'
        when row_number() over (partition by partition_date, {{ id_column }} order by quality_score desc, source_file, line_number) = 1 then 'accepted'
        when payload_hash = first_value(payload_hash) over (partition by partition_date, {{ id_column }} order by quality_score desc, source_file, line_number) then 'duplicate'
        else 'quarantined'
    end
{%- endmacro %}

{% macro conflicting_duplicate_issue(id_column) -%}
    case when quality_score >= {{ var('quarantine_below_score') }} and {{ id_column }} is not null
              and row_number() over (partition by partition_date, {{ id_column }} order by quality_score desc, source_file, line_number) > 1
              and payload_hash <> first_value(payload_hash) over (partition by partition_date, {{ id_column }} order by quality_score desc, source_file, line_number)
         then ['{{ id_column }} reused by a different record'] else [] end
{%- endmacro %}

{# Local business date of a timestamp, in the configured time zone. #}
{% macro local_date(ts) -%}
    cast(timezone('{{ var("business_timezone") }}', {{ ts }}) as date)
{%- endmacro %}
