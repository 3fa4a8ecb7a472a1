"""Report building and rendering: plain library code (no Dagster).

``periods`` resolves a report period, ``content`` reads the warehouse into
report tables, ``render`` writes PDF / XLSX / CSV / HTML, ``safe`` neutralises
input strings for spreadsheets (HTML is escaped by jinja2's autoescape)."""
