-- The union is written by a Jinja loop; sqlfluff cannot indent across its iterations.
-- noqa: disable=LT02
-- The extra columns identity inputs offer for matching, one row per (record, field, value):
-- the columns each staging model lists in meta.match_fields with their comparison kind,
-- unpivoted. Identity resolution compares each field as its kind says (an id number with
-- typos, a second address line as text), across every source that has it.
{{ identity_input_refs() }}
{%- set parts = [] %}
{%- for node in identity_input_models() %}
    {%- for column, kind in identity_match_field_columns(node).items() %}
        {%- do parts.append((node, column, kind)) %}
    {%- endfor %}
{%- endfor %}

{% for node, column, kind in parts %}
select
    source,
    source_record_id,
    '{{ column }}' as field,
    '{{ kind }}' as kind,
    cast({{ column }} as {{ dbt.type_string() }}) as value
from {{ ref(node.name) }}
where {{ column }} is not null
{% if not loop.last %}union all{% endif %}
{% endfor %}
{%- if not parts %}
select
    cast(null as {{ dbt.type_string() }}) as source,
    cast(null as {{ dbt.type_string() }}) as source_record_id,
    cast(null as {{ dbt.type_string() }}) as field,
    cast(null as {{ dbt.type_string() }}) as kind,
    cast(null as {{ dbt.type_string() }}) as value
where 1 = 0
{%- endif %}
