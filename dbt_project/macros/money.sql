{# Money is integer minor units; each currency's exponent is in the currencies seed
   (ZAR 2, JPY 0, KWD 3). The fx_rates seed holds rates in ONE base per row
   (base_currency, shipped as ZAR): rate_to_base = base units per one unit of
   currency_code. Everything below converts to var('reporting_currency'), any
   currency of the currencies seed that the FX rates cover. #}

{# Rates from every currency to the reporting currency, by triangulation through the
   base: rate_X_to_R(d) = rate_X_to_base(d) / rate_R_to_base(d), with R's rate as of
   d (its last earlier date when R has no row that day); the base itself is rate 1
   on every date its series has. Readers as-of join on rate_date <= the record's
   date, so weekends and holidays carry the last rate forward. Fails the model with
   a message naming the setting when the reporting currency is unknown or has no
   rate in any base. #}
{% macro fx_rates_to_reporting() -%}
(
    with seed as (
        select rate_date, currency_code, base_currency, cast(rate_to_base as double) as rate_to_base
        from {{ ref('fx_rates') }}
    ),
    fx as (
        select * from seed
        union all
        select distinct rate_date, base_currency, base_currency, 1.0 from seed
    ),
    reporting_series as (
        select rate_date, base_currency, rate_to_base as reporting_rate
        from fx where currency_code = '{{ var("reporting_currency") }}'
    ),
    triangulated as (
        select
            fx.rate_date,
            fx.currency_code,
            fx.rate_to_base / reporting_series.reporting_rate as rate_to_reporting
        from fx
        asof join reporting_series
            on reporting_series.base_currency = fx.base_currency
           and reporting_series.rate_date <= fx.rate_date
    ),
    guard as (
        select case
            when not exists (select 1 from {{ ref('currencies') }}
                             where currency_code = '{{ var("reporting_currency") }}')
                then error('BIZINTEL_REPORTING_CURRENCY={{ var("reporting_currency") }} is not in seeds/currencies.csv')
            when not exists (select 1 from reporting_series)
                then error('BIZINTEL_REPORTING_CURRENCY={{ var("reporting_currency") }} has no rate in seeds/fx_rates.csv (neither a base_currency nor a currency_code)')
            else true
        end as ok
    )
    select triangulated.* from triangulated, guard where guard.ok
)
{%- endmacro %}

{# Convert integer minor units of one currency into integer minor units of the
   reporting currency: amount x rate x 10^(exp_to - exp_from), rounded half away
   from zero. The factor rate x 10^(...) is a DECIMAL(38, 12) and the product is
   exact in DECIMAL(38) for any BIGINT amount whose result fits 26 digits; a result
   that would not fit the BIGINT reporting column (|x| >= 2^63) is NULL, never an
   error (the readers flag it fx_status = 'conversion_overflow'). The double-precision
   estimate only decides whether the exact product is attempted. #}
{% macro to_reporting_minor(amount_minor, from_exponent, rate, to_exponent) -%}
    case
        when abs(cast({{ amount_minor }} as double) * {{ rate }}
                 * power(10, {{ to_exponent }} - {{ from_exponent }})) < 1e20
        then try_cast(round(
            cast({{ amount_minor }} as decimal(38, 0))
            * cast({{ rate }} * power(10, {{ to_exponent }} - {{ from_exponent }}) as decimal(38, 12))
        ) as bigint)
    end
{%- endmacro %}

{# The fx_status of a converted amount, and the converted amount itself (NULL when
   the amount is NULL, its rate is missing or the result overflows BIGINT). Columns
   expected: amount_minor, currency_code, partition_date, fx_rate_date,
   rate_to_reporting, minor_unit_exponent and reporting_exponent. #}
{% macro fx_status() -%}
    case
        when amount_minor is null then null
        when currency_code = '{{ var("reporting_currency") }}' then 'reporting_currency'
        when fx_rate_date is null then 'missing_rate'
        when {{ to_reporting_minor('amount_minor', 'minor_unit_exponent', 'rate_to_reporting', 'reporting_exponent') }} is null
            then 'conversion_overflow'
        when fx_rate_date = partition_date then 'same_day_rate'
        else 'carried_forward_rate'
    end
{%- endmacro %}

{% macro amount_reporting_minor() -%}
    case
        when amount_minor is null then null
        when currency_code = '{{ var("reporting_currency") }}' then amount_minor
        else {{ to_reporting_minor('amount_minor', 'minor_unit_exponent', 'rate_to_reporting', 'reporting_exponent') }}
    end
{%- endmacro %}

{# The one way to add up money (integer minor units, any layer). The sum runs in
   HUGEINT, so it never overflows and never fails the model; the total is BIGINT
   like every money column, and NULL when it does not fit BIGINT. With
   unknown_if_null, a NULL amount among the summed rows (an FX conversion that
   overflowed or had no rate, a zone value that overflowed) makes the total NULL
   too: a partial sum would be a wrong figure. Nothing to sum is 0, so callers
   never coalesce a total (a coalesce would show an overflowed total as 0).
   `where` is a filter on the rows, `over` a window clause. Readers flag a NULL
   total (kpi_daily.money_total_unknown and the kpi_daily check money_totals_known). #}
{% macro sum_minor(amount, where=none, over=none, unknown_if_null=false) -%}
    {%- set only = ' filter (where ' ~ where ~ ')' if where else '' -%}
    {%- set window = ' over (' ~ over ~ ')' if over else '' -%}
    case
        {%- if unknown_if_null %}
        when count(*) filter (where {{ amount }} is null{{ ' and (' ~ where ~ ')' if where else '' }}){{ window }} > 0 then null
        {%- endif %}
        when count({{ amount }}){{ only }}{{ window }} = 0 then 0
        else try_cast(sum(cast({{ amount }} as hugeint)){{ only }}{{ window }} as bigint)
    end
{%- endmacro %}
