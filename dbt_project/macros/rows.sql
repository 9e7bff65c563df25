{# One row per key: the first by `order_by` (dedupes duplicated / late-arriving rows). #}
{% macro first_row_per(relation, partition_by, order_by) -%}
    select *
    from (
        select
            *,
            row_number() over (partition by {{ partition_by }} order by {{ order_by }}) as row_rank
        from {{ relation }}
    ) as ranked
    where row_rank = 1
{%- endmacro %}

{# In a group: the non-null `value` of the row with the greatest `order_by`. #}
{% macro latest_non_null(value, order_by) -%}
    {{ return(adapter.dispatch('latest_non_null', 'cdp')(value, order_by)) }}
{%- endmacro %}
{% macro duckdb__latest_non_null(value, order_by) -%}
    arg_max({{ value }}, {{ order_by }}) filter (where {{ value }} is not null)
{%- endmacro %}
{% macro default__latest_non_null(value, order_by) -%}
    max_by({{ value }}, case when {{ value }} is not null then {{ order_by }} end)
{%- endmacro %}
