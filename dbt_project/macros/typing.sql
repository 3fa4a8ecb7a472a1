{# Strict integer parsing: DuckDB's try_cast rounds '12.5' to 13, which would
   silently change an amount in minor units. Only an optionally signed run of
   digits is an integer; anything else is NULL (and the row's rules catch it). #}
{% macro try_integer(expr) -%}
    case when regexp_full_match(trim({{ expr }}), '-?[0-9]{1,18}') then cast(trim({{ expr }}) as bigint) end
{%- endmacro %}
