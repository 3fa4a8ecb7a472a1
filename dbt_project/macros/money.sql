{# Convert integer minor units of one currency into integer minor units of the
   reporting currency: amount * rate * 10^(exp_to - exp_from), in DECIMAL
   arithmetic (rates carry 6 decimals), rounded half away from zero (DuckDB's
   ROUND on DECIMAL). Scales stay small enough for 26 integer digits. #}
{% macro to_reporting_minor(amount_minor, from_exponent, rate, to_exponent) -%}
    cast(round(
        cast({{ amount_minor }} as decimal(38, 0)) * cast({{ rate }} as decimal(18, 6))
        * cast(power(10, {{ to_exponent }} - {{ from_exponent }}) as decimal(38, 6))
    ) as bigint)
{%- endmacro %}
