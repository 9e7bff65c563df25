-- The union is written by a Jinja loop; sqlfluff cannot indent across its iterations.
-- noqa: disable=LT02
-- The strong identifiers of every identity input, one row per (record, id type, value):
-- the columns each staging model lists in meta.strong_ids, unpivoted. Records sharing a
-- strong id (a web visitor's user_id and a shop customer's user_id) are the same person.
{{ identity_input_refs() }}
{%- set parts = [] %}
{%- for node in identity_input_models() %}
    {%- for id_column in identity_strong_id_columns(node) %}
        {%- do parts.append((node, id_column)) %}
    {%- endfor %}
{%- endfor %}

{% for node, id_column in parts %}
select
    source,
    source_record_id,
    '{{ id_column }}' as id_type,
    cast({{ id_column }} as {{ dbt.type_string() }}) as id_value
from {{ ref(node.name) }}
where {{ id_column }} is not null
{% if not loop.last %}union all{% endif %}
{% endfor %}
{%- if not parts %}
select
    cast(null as {{ dbt.type_string() }}) as source,
    cast(null as {{ dbt.type_string() }}) as source_record_id,
    cast(null as {{ dbt.type_string() }}) as id_type,
    cast(null as {{ dbt.type_string() }}) as id_value
where 1 = 0
{%- endif %}
