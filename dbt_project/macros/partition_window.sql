{# Rows of the run's partition window [partition_start, partition_end). #}
{% macro in_partition_window(column='partition_date') -%}
    {{ column }} >= date '{{ var("partition_start") }}' and {{ column }} < date '{{ var("partition_end") }}'
{%- endmacro %}

{# Pre-hook of every partitioned model: replace the window, never append twice.
   Runs inside the model's transaction, so a crash leaves the old rows intact. #}
{% macro delete_partition_window() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ in_partition_window() }}
    {%- endif -%}
{%- endmacro %}

{# Generic data tests check what the run wrote. On a partitioned relation (one
   with a partition_date column) they see only the run's window: a daily run tests
   its day, not the whole history again (each day was tested when it was written),
   so its cost does not grow with history, and each result is about the run's
   partitions. A test's own `where` still applies. Overrides dbt's macro. #}
{% macro get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}{%- do filters.append('(' ~ where ~ ')') -%}{%- endif -%}
    {%- if execute -%}
        {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
        {%- if 'partition_date' in columns -%}{%- do filters.append(in_partition_window()) -%}{%- endif -%}
    {%- endif -%}
    {%- if filters -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ filters | join(' and ') ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
