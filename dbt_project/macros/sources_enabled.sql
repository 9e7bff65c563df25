{#
  A source is declared once, in ingest/sources.yml. `cdp dbt generate` writes the var
  `cdp_disabled_models` (dbt_project.yml): the models that read a source that file does not
  enable. Such a model starts with

      {{ config(enabled=model_enabled(model.name)) }}

  and a model that reads it through `staging_or_empty(...)` sees an empty relation with the
  columns it names, so marts and segments build on whatever sources exist (the columns no
  source feeds are null).
#}

{% macro model_enabled(name) -%}
    {{ return(name not in var('cdp_disabled_models', [])) }}
{%- endmacro %}

{#
  ref(name) while the model is enabled; otherwise a typed empty select of `columns`
  (a mapping: column -> SQL type), so the reading model compiles and yields no rows from it.
#}
{% macro staging_or_empty(name, columns) -%}
    {%- if model_enabled(name) -%}
        {{ ref(name) }}
    {%- else -%}
        (select
        {%- for column, data_type in columns.items() %}
            cast(null as {{ engine_type(data_type) }}) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
        where false)
    {%- endif -%}
{%- endmacro %}

{#- A column type for the engine in use: `string[]` (a list of strings) is array<string> on Spark. -#}
{% macro engine_type(data_type) -%}
    {{ return(adapter.dispatch('engine_type', 'cdp')(data_type)) }}
{%- endmacro %}
{% macro duckdb__engine_type(data_type) -%}{{ return(data_type) }}{%- endmacro %}
{% macro default__engine_type(data_type) -%}
    {{ return('array<string>' if data_type == 'string[]' else data_type) }}
{%- endmacro %}
