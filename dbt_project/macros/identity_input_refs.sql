{#
  The identity inputs, by name, for dbt's DAG only (see macros/identity_inputs.sql): dbt
  needs every ref while parsing, when the graph (and so the models' meta) is not known yet.
  The names are the var `cdp_identity_inputs`, which `cdp dbt generate` writes into
  dbt_project.yml from the models whose YAML declares `meta: {identity_input: true}` (and
  whose source is enabled). Which models are unioned, their strong ids and columns still
  come from their YAML; a declared input missing from the var stops the build, saying to
  run `cdp dbt generate`.
#}
{% macro identity_input_refs() %}
{%- for name in var('cdp_identity_inputs', []) %}
-- depends_on: {{ ref(name) }}
{%- endfor %}
{% endmacro %}
