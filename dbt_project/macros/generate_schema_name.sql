{# Layer schemas are named as they are (raw, staging, cleansed, ...), not prefixed
   with the target schema: analysts query `kpis.kpi_daily`, not `main_kpis.kpi_daily`. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
