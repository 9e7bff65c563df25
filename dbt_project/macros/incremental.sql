{#-
Incremental models (docs/architecture.md, "The incremental nightly").

Staging takes in only what dlt loaded since the model's last build. `_dlt_load_id` is
dlt's load id (the load's start, in seconds since 1970, as text); every staging table
keeps the one of each row it took in, and reads the raw rows of loads newer than its
newest. Only completed loads are taken in (those in the source's `_dlt_loads` with status
0): a package that failed half-way is taken in whole once cdp ingest has finished it,
which it does before loading anything new for that source, so one source's loads complete
in the order of their ids and a later build never skips one. The var
incremental_lookback_hours re-reads more, for raw tables another tool writes out of load
order; a row read again replaces itself (delete+insert on the model's unique key). An
event that happened long ago but arrives today is in today's load: it needs no look-back.

The watermark is a constant in the SQL (read with run_query before the model runs), so
DuckDB skips the row groups of older loads by their min/max statistics instead of
scanning the whole raw table.
-#}

{% macro incremental_materialization() -%}
    {#- `incremental` where a table's rows can be deleted and replaced in place (DuckDB);
        elsewhere `table`, rebuilt whole each build: Spark without Delta or Iceberg (their
        JARs come from Maven) has Parquet tables, which can only be overwritten whole. -#}
    {{ return(adapter.dispatch('incremental_materialization', 'cdp')()) }}
{%- endmacro %}
{% macro duckdb__incremental_materialization() -%}{{ return('incremental') }}{%- endmacro %}
{% macro default__incremental_materialization() -%}{{ return('table') }}{%- endmacro %}

{% macro incremental_build() -%}
    {#- is_incremental(), except in a unit test (dbt 1.11 answers true there, with no `this`) -#}
    {{ return(this is not none and is_incremental()) }}
{%- endmacro %}

{% macro load_watermark(column='_dlt_load_id') -%}
    {#- The newest load id this model holds, less the look-back; none on a full build. -#}
    {%- if not (execute and incremental_build()) -%}{{ return(none) }}{%- endif -%}
    {#- a table an older release built without the column: rebuilt whole, the column added
        (on_schema_change: append_new_columns) -#}
    {%- if column not in adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set newest = run_query('select max(' ~ column ~ ') from ' ~ this).columns[0].values()[0] -%}
    {%- if newest is none -%}{{ return(none) }}{%- endif -%}
    {%- if not var('incremental_lookback_hours') -%}{{ return(newest) }}{%- endif -%}
    {#- whole seconds, rounded down: a float keeps too few digits to round-trip a load id -#}
    {{ return('%d' | format((newest | float - var('incremental_lookback_hours') * 3600) | round(0, 'floor') | int)) }}
{%- endmacro %}

{% macro loaded_since(watermark, column='_dlt_load_id') -%}
    {%- if watermark is none -%}true{%- else -%}{{ column }} > '{{ watermark }}'{%- endif -%}
{%- endmacro %}

{% macro completed_loads_since(raw, watermark) -%}
    {#- SQL condition on a raw table's rows: their load completed, and came after the
        watermark. (A unit test's raw rows have made-up load ids: only the watermark.) -#}
    {%- if this is not none %}
    _dlt_load_id in (
        select load_id from {{ api.Relation.create(database=raw.database, schema=raw.schema, identifier='_dlt_loads') }}
        where status = 0
    )
    and {% endif -%}
    {{ loaded_since(watermark) }}
{%- endmacro %}

{% macro first_load_per(relation, key, watermark) -%}
    {#- One row per key, from its first load; on an incremental build only keys this model
        has not taken in before the window (a copy loaded again later never replaces it). -#}
    {{ first_row_per(relation, key, '_dlt_load_id, _source_file, _source_row') }}
    {%- if watermark is not none %}
        and not exists (
            select 1 from {{ this }} as taken
            where
                {% for column in key.split(',') | map('trim') -%}
                taken.{{ column }} = ranked.{{ column }} and
                {% endfor -%}
                taken._dlt_load_id <= '{{ watermark }}'
        )
    {%- endif %}
{%- endmacro %}

{% macro keys_loaded_since(relation, key, watermark) -%}
    {#- SQL condition: the row's key has rows loaded since the watermark (always true on a
        full build). For models that aggregate many rows per key (a visitor's events). -#}
    {%- if watermark is none -%}true{%- else -%}
    {{ key }} in (select {{ key }} from {{ relation }} where {{ loaded_since(watermark) }})
    {%- endif -%}
{%- endmacro %}

{% macro live_rows(watermark) -%}
    {#- Merged sources: rows deleted at the source are dropped on a full build; an
        incremental build reads them too, so that their key is deleted (delete+insert), and
        the model's post-hook delete_tombstones removes them again. -#}
    {%- if watermark is none -%}_cdp_deleted_at is null{%- else -%}true{%- endif -%}
{%- endmacro %}

{% macro delete_tombstones() -%}
    {#- nothing on a full build, which reads no tombstones (and on Spark, whose tables are
        rebuilt whole and cannot delete rows) -#}
    {%- if incremental_build() -%}delete from {{ this }} where _cdp_deleted_at is not null{%- endif -%}
{%- endmacro %}

{#-
Marts and intermediate models keyed by customer are rebuilt only for the customers whose
rows would change: `customers_to_rebuild` compares, per customer, a hash of the rows the
model's SQL gives now with a hash of the rows the table holds (new, changed, gone and
moved rows all change it; an identity merge or split changes both customers'). That costs
one pass over the inputs and one over the table, but no aggregation or write for anyone
else, and it needs no bookkeeping: a failed or skipped run leaves nothing to catch up on.

The strategy `replace_customers` deletes every changed customer's rows and inserts their
rows as they are now. A changed customer left with no rows at all comes with a marker row
(only customer_id set, see `with_markers`), so its rows are deleted too.
-#}

{% macro customers_to_rebuild(current) -%}
    {#- every column the model's YAML declares, hashed per row and summed per customer (a
        sum, not an xor: two equal rows must not cancel out) -#}
    {%- set hashed = 'hash(' ~ model.columns.keys() | join(', ') ~ ')' -%}
    select coalesce(now.customer_id, taken.customer_id) as customer_id
    from (
        select customer_id, sum({{ hashed }}) as rows_hash, count(*) as row_count
        from {{ current }} group by customer_id
    ) as now
    full outer join (
        select customer_id, sum({{ hashed }}) as rows_hash, count(*) as row_count
        from {{ this }} group by customer_id
    ) as taken
        on now.customer_id = taken.customer_id
    where
        now.rows_hash is distinct from taken.rows_hash
        or now.row_count is distinct from taken.row_count
{%- endmacro %}

{% macro only_rebuilt_customers(current) -%}
    {#- The rows to write: all on a full build; else the changed customers' rows, and a
        marker for each of them (a customer whose rows are all gone is deleted by it). -#}
    {%- if incremental_build() %}
    select * from {{ current }}
    where customer_id in (select customer_id from rebuilt_customers)
    union all by name
    select customer_id from rebuilt_customers
    {%- else %}
    select * from {{ current }}
    {%- endif %}
{%- endmacro %}

{% macro get_incremental_replace_customers_sql(arg_dict) -%}
    {%- set target, source = arg_dict['target_relation'], arg_dict['temp_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set row_column = config.get('row_column') -%}
    delete from {{ target }} where customer_id in (select customer_id from {{ source }});
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }} where {{ row_column }} is not null
{%- endmacro %}

{% macro customers_with_changed_inputs(inputs) -%}
    {#- The customers whose input rows (`inputs`: customer_id and row_hash per row) hash
        otherwise than when the model last built them (its column inputs_hash). For models
        whose work is per customer: only these customers are computed at all. -#}
    select coalesce(now.customer_id, taken.customer_id) as customer_id
    from (
        select customer_id, sum(row_hash) as inputs_hash
        from {{ inputs }} group by customer_id
    ) as now
    full outer join (select customer_id, inputs_hash from {{ this }}) as taken
        on now.customer_id = taken.customer_id
    where now.inputs_hash is distinct from taken.inputs_hash
{%- endmacro %}

{% macro of_rebuilt_customers() -%}
    {#- SQL condition on an input row: its customer is rebuilt (always true on a full build) -#}
    {%- if incremental_build() -%}customer_id in (select customer_id from rebuilt_customers){%- else -%}true{%- endif -%}
{%- endmacro %}
