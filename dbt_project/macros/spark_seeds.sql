{#
  Seeds on Spark. dbt-spark's session method puts the values of a seed into its INSERT
  without escaping them (a quote in a value breaks the statement) and turns empty cells
  into the text 'None'. This writes each value as an escaped literal instead, and an empty
  cell as null, as the seed loads on DuckDB.
#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for value in row -%}
                    {%- set type = column_override.get(agate_table.column_names[loop.index0],
                                                       adapter.convert_type(agate_table, loop.index0)) -%}
                    cast({{ spark_literal(value) }} as {{ type }}){{ ', ' if not loop.last }}
                {%- endfor -%}){{ ',' if not loop.last }}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first %}{% do statements.append(sql) %}{% endif -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}

{# A seed cell as a Spark SQL literal: null, or quoted text with backslashes and quotes escaped. #}
{% macro spark_literal(value) -%}
    {%- if value is none -%}null
    {%- else -%}'{{ value | string | replace('\\', '\\\\') | replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}
