"""Rule-based segments: definitions in config/segments.yaml, validated on load
(``config``) and compiled to parameterised DuckDB SQL (``sql``)."""
