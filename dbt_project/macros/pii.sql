{# Salted SHA-256 of a PII value or id. The salt is a DuckDB session variable set by
   the bizintel dbt plugin from BIZINTEL_PII_SALT; a missing salt is an error, never a
   silently unsalted (guessable) or NULL hash. Values are trimmed and lower-cased so
   the same person hashes alike across sources. #}
{% macro pii_hash(expr) -%}
    case
        when nullif(trim({{ expr }}), '') is null then null
        when getvariable('pii_salt') is null
            then error('pii_salt is not set: the bizintel dbt plugin sets it from BIZINTEL_PII_SALT')
        else sha256(getvariable('pii_salt') || '|' || lower(trim({{ expr }})))
    end
{%- endmacro %}
