{# Strict integer parsing: DuckDB's try_cast rounds '12.5' to 13, which would
   silently change an amount in minor units. Only an optionally signed run of
   digits is an integer; anything else is NULL (and the row's rules catch it). #}
{% macro try_integer(expr) -%}
    case when regexp_full_match(trim({{ expr }}), '-?[0-9]{1,18}') then cast(trim({{ expr }}) as bigint) end
{%- endmacro %}

{# Strict timestamp parsing, per the raw contract: ISO-8601 with an explicit
   offset or Z only. DuckDB's cast also takes zone abbreviations and names
   ('PST' is read as Los Angeles time, so in June as -07:00, the wrong instant),
   and a missing offset as UTC; those are ambiguous, so they are NULL here and
   the row's "unparseable" rule says why. #}
{% macro try_timestamptz(expr) -%}
    case when regexp_full_match(trim({{ expr }}), '[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]{1,9})?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)')
         then try_cast(trim({{ expr }}) as timestamptz) end
{%- endmacro %}
