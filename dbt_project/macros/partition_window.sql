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
