{#
  Run at the end of every dbt command (on-run-end in dbt_project.yml). dbt-duckdb leaves
  the staging table of an incremental Python model behind: after each incremental build
  an empty `identity_changelog__dbt_tmp<timestamp>` in the target's schema, one more every
  night. This drops every persistent `__dbt_tmp` table or view in the schemas the project
  builds into; dbt's own temporary relations live in DuckDB's temp catalog and go by themselves.
#}
{% macro drop_dbt_tmp_relations() %}
    {{ return(adapter.dispatch('drop_dbt_tmp_relations', 'cdp')()) }}
{% endmacro %}

{# Spark: the project has no Python models there (docs/architecture.md, "Spark"), so nothing is left behind. #}
{% macro default__drop_dbt_tmp_relations() %}{% endmacro %}

{% macro duckdb__drop_dbt_tmp_relations() %}
    {% if execute %}
        {% set schemas = [target.schema] %}
        {% for node in graph.nodes.values() if node.resource_type in ('model', 'seed', 'snapshot') %}
            {% do schemas.append(node.schema) %}
        {% endfor %}
        {% set leftovers = run_query(dbt_tmp_relations_sql(schemas | unique | list)) %}
        {% for schema_name, relation_name, relation_type in leftovers.rows %}
            {% do run_query(
                'drop ' ~ relation_type ~ ' if exists '
                ~ adapter.quote(schema_name) ~ '.' ~ adapter.quote(relation_name)
            ) %}
        {% endfor %}
    {% endif %}
{% endmacro %}

{# The leftover `__dbt_tmp` relations of this warehouse in `schemas`: schema, name, table or view. #}
{% macro dbt_tmp_relations_sql(schemas) -%}
    {%- set in_schemas -%}
        {%- for schema in schemas -%}'{{ schema }}'{{ ', ' if not loop.last }}{%- endfor -%}
    {%- endset -%}
    select
        schema_name,
        table_name as relation_name,
        'table' as relation_type
    from duckdb_tables()
    where
        database_name = current_database()
        and not temporary
        and contains(table_name, '__dbt_tmp')
        and schema_name in ({{ in_schemas }})
    union all
    select
        schema_name,
        view_name as relation_name,
        'view' as relation_type
    from duckdb_views()
    where
        database_name = current_database()
        and not temporary
        and contains(view_name, '__dbt_tmp')
        and schema_name in ({{ in_schemas }})
{%- endmacro %}
