{#
  The identity contract, in one place. Every person-bearing staging model exposes these
  columns and declares `meta: {identity_input: true, strong_ids: [...]}` in its YAML;
  the identity models find those models in dbt's graph (columns, strong ids, which
  models), so adding a person source takes no Python and no SQL outside its own model.

  One dbt limit: dbt fixes the DAG while parsing, before `graph` exists, so the identity
  models also name each input in a `-- depends_on: {{ ref(...) }}` line (see
  macros/identity_input_refs.sql), from the var `cdp_identity_inputs` that `cdp dbt generate`
  writes. `identity_input_models()` fails the build saying to run it when a declared input
  is missing there, so it cannot be forgotten.
#}

{% macro identity_contract_columns() -%}
    {{ return([
        'source', 'source_record_id', 'party',
        'email', 'email_sha256', 'phone',
        'first_name', 'last_name', 'first_name_display', 'last_name_display',
        'date_of_birth', 'address', 'address_display', 'postcode', 'city', 'city_display', 'country',
        'observed_at',
    ]) }}
{%- endmacro %}

{# The staging models that declare themselves identity inputs, by name (execute time only). #}
{% macro identity_input_models() -%}
    {% set inputs = [] %}
    {% if execute %}
        {% for node in graph.nodes.values() | sort(attribute='name') %}
            {% set meta = node.config.get('meta', {}) or node.get('meta', {}) %}
            {% if node.resource_type == 'model' and meta.get('identity_input') %}
                {% if node.unique_id not in model.depends_on.nodes %}
                    {% do exceptions.raise_compiler_error(
                        node.original_file_path ~ ": meta.identity_input is set but dbt does not know "
                        ~ model.name ~ " depends on it: run `cdp dbt generate` (it lists "
                        ~ node.name ~ " in the var cdp_identity_inputs, dbt_project.yml)") %}
                {% endif %}
                {% do inputs.append(node) %}
            {% endif %}
        {% endfor %}
    {% endif %}
    {{ return(inputs) }}
{%- endmacro %}

{% macro identity_strong_id_columns(node) -%}
    {% set meta = node.config.get('meta', {}) or node.get('meta', {}) %}
    {{ return(meta.get('strong_ids', []) or []) }}
{%- endmacro %}

{# meta.match_fields: {column: kind}, the model's own columns Splink compares (cdp/identity/config.py). #}
{% macro identity_match_field_columns(node) -%}
    {% set meta = node.config.get('meta', {}) or node.get('meta', {}) %}
    {{ return(meta.get('match_fields', {}) or {}) }}
{%- endmacro %}

{#
  One row per (record, column value) of the identity inputs: `parts` lists
  (node, column, labels), labels a mapping of constant columns (id_type, or field and kind)
  written before `value_name`. The union identity_strong_ids and identity_match_fields
  share; with no parts, an empty relation of the same columns.
#}
{% macro unpivot_identity_columns(parts, label_names, value_name) -%}
{% for node, column, labels in parts %}
select
    source,
    source_record_id,
    {%- for name in label_names %}
    '{{ labels[name] }}' as {{ name }},
    {%- endfor %}
    cast({{ column }} as {{ dbt.type_string() }}) as {{ value_name }}
from {{ ref(node.name) }}
where {{ column }} is not null
{% if not loop.last %}union all{% endif %}
{% endfor %}
{%- if not parts %}
select
    cast(null as {{ dbt.type_string() }}) as source,
    cast(null as {{ dbt.type_string() }}) as source_record_id,
    {%- for name in label_names %}
    cast(null as {{ dbt.type_string() }}) as {{ name }},
    {%- endfor %}
    cast(null as {{ dbt.type_string() }}) as {{ value_name }}
where 1 = 0
{%- endif %}
{%- endmacro %}
