-- Location reports with zone detection (point in rectangle, edges inclusive as in
-- seed 000), the zone's sponsor and hourly rate, and the attendee's ticket.
-- The hourly rate is in the zone's own currency in the seed and converted here to
-- the reporting currency with the report day's FX rate (as app events are).
-- Overlapping zones: the smallest (most specific) zone wins and confidence drops.
-- Confidence: 0.5 on a zone edge rising to 1.0 at zone_edge_margin_ratio x the
-- zone's shorter side inside; x0.75 when several zones contain the point.
with reports as (
    select * from {{ ref('cleansed_location_reports') }}
    where {{ in_partition_window() }}
),

zones as (
    select
        *,
        x_min + width_m as x_max,
        y_min + height_m as y_max,
        width_m * height_m as area_m2,
        least(width_m, height_m) as short_side_m
    from {{ ref('sponsor_zones') }}
),

matches as (
    select
        reports.report_id,
        zones.zone_id,
        least(reports.x_m - zones.x_min, zones.x_max - reports.x_m,
              reports.y_m - zones.y_min, zones.y_max - reports.y_m) as edge_margin_m,
        zones.short_side_m,
        count(*) over (partition by reports.report_id) as zones_matched,
        row_number() over (partition by reports.report_id order by zones.area_m2, zones.zone_id) as match_rank
    from reports
    join zones
      on zones.venue_id = reports.venue_id
     and reports.x_m between zones.x_min and zones.x_max
     and reports.y_m between zones.y_min and zones.y_max
),

best_match as (
    select * from matches where match_rank = 1
),

currencies as (select currency_code, minor_unit_exponent from {{ ref('currencies') }}),
fx as (select * from {{ fx_rates_to_reporting() }}),
reporting as (
    select minor_unit_exponent as reporting_exponent
    from currencies where currency_code = '{{ var("reporting_currency") }}'
),

tickets as (
    -- one ticket per attendee, venue and day: the highest tier, checked in if any was
    select
        partition_date,
        user_key,
        venue_id,
        arg_max(ticket_type, case ticket_type when 'VIP' then 3 when 'Premium' then 2 else 1 end) as ticket_type,
        bool_or(coalesce(is_checked_in, false)) as is_checked_in
    from {{ ref('cleansed_ticketing') }}
    where {{ in_partition_window() }} and user_key is not null
    group by all
)

select
    reports.*,
    best_match.zone_id,
    zones.zone_name,
    zones.sponsor_id,
    sponsors.sponsor_name,
    case
        when zones.currency = '{{ var("reporting_currency") }}' then zones.hourly_rate_minor
        else {{ to_reporting_minor('zones.hourly_rate_minor', 'zone_currency.minor_unit_exponent',
                                   'fx.rate_to_reporting', 'reporting.reporting_exponent') }}
    end as hourly_rate_minor,
    coalesce(best_match.zones_matched, 0) as zones_matched,
    case
        when best_match.zone_id is null then 0.0
        else round(
            least(1.0, 0.5 + 0.5 * best_match.edge_margin_m
                         / ({{ var('zone_edge_margin_ratio') }} * best_match.short_side_m))
            * case when best_match.zones_matched > 1 then 0.75 else 1.0 end,
            3)
    end as detection_confidence,
    tickets.ticket_type,
    coalesce(tickets.is_checked_in, false) as is_checked_in
from reports
left join best_match using (report_id)
left join zones using (zone_id)
left join {{ ref('sponsors') }} as sponsors on sponsors.sponsor_id = zones.sponsor_id
left join currencies as zone_currency on zone_currency.currency_code = zones.currency
asof left join fx
  on fx.currency_code = zones.currency
 and fx.rate_date <= reports.partition_date
cross join reporting
left join tickets
  on tickets.partition_date = reports.partition_date
 and tickets.user_key = reports.user_key
 and tickets.venue_id = reports.venue_id
