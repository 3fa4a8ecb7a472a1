{# Parse a JSON column once into a struct of text fields: json_transform reads
   each document one time, where one `->>` per field re-reads it per field (3-4x
   slower over two dozen fields; values are identical: numbers and nested
   objects come back as their JSON text, absent keys and non-objects as NULL).
   `fields` are dotted paths, e.g. ['event_id', 'properties.amount_minor'];
   read them back as struct fields: doc.event_id, doc.properties.amount_minor. #}
{% macro json_text_fields(column, fields) -%}
    {%- set tree = {} -%}
    {%- for path in fields -%}
        {%- set parts = path.split('.') -%}
        {%- if parts | length == 1 -%}
            {%- do tree.update({parts[0]: none}) -%}
        {%- else -%}
            {%- if parts[0] not in tree or tree[parts[0]] is none -%}{%- do tree.update({parts[0]: []}) -%}{%- endif -%}
            {%- do tree[parts[0]].append(parts[1]) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set members = [] -%}
    {%- for key, children in tree.items() -%}
        {%- if children is none -%}
            {%- do members.append('"' ~ key ~ '": "VARCHAR"') -%}
        {%- else -%}
            {%- set inner = [] -%}
            {%- for child in children -%}{%- do inner.append('"' ~ child ~ '": "VARCHAR"') -%}{%- endfor -%}
            {%- do members.append('"' ~ key ~ '": {' ~ inner | join(', ') ~ '}') -%}
        {%- endif -%}
    {%- endfor -%}
    json_transform({{ column }}, '{{ "{" ~ members | join(", ") ~ "}" }}')
{%- endmacro %}

{# The first key that occurs twice in a JSON object (at the top level, then in
   each nested object named in `nested`), else NULL. DuckDB keeps one of the
   values and Python's json the other, so such a record is ambiguous. Set-based:
   a key is a repeat when its first position in the key list is before its own. #}
{% macro duplicate_json_key(column, nested=[]) -%}
    coalesce(
        list_filter(json_keys({{ column }}), lambda k, i: list_position(json_keys({{ column }}), k) < i)[1]
        {%- for path in nested %},
        '{{ path }}.' || list_filter(json_keys({{ column }}, '$.{{ path }}'), lambda k, i: list_position(json_keys({{ column }}, '$.{{ path }}'), k) < i)[1]
        {%- endfor %}
    )
{%- endmacro %}
