{# Every row satisfies the boolean SQL expression (a row where it is false or NULL
   fails). Scope it with the test's `config: {where: ...}`. #}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
