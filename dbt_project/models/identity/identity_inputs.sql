-- The union is written by a Jinja loop; sqlfluff cannot indent across its iterations.
-- noqa: disable=LT02
-- Every identity input (person-bearing staging model) in the contract's columns, one row
-- per source record. Which models take part is read from their YAML (meta.identity_input).
{{ identity_input_refs() }}
{%- set inputs = identity_input_models() %}

{% for node in inputs %}
select
    {%- for column in identity_contract_columns() %}
    {{ column }}{{ "," if not loop.last }}
    {%- endfor %}
from {{ ref(node.name) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
{%- if not inputs %}
-- parse time: the graph is not known yet
select 1 as source
{%- endif %}
