-- In-store transaction lines, one row per (transaction_id, line_no): a file loaded twice
-- or a line repeated in a later file keeps its first copy.
{{ config(
    enabled=model_enabled(model.name),
    materialized=incremental_materialization(),
    unique_key=['transaction_id', 'line_no'],
    incremental_strategy='delete+insert',
) }}
{%- set watermark = load_watermark() %}
with source as (
    select * from {{ source('raw_pos', 'transactions') }}
    where {{ completed_loads_since(source('raw_pos', 'transactions'), watermark) }}
),

deduplicated as (
    {{ first_load_per('source', 'transaction_id, line_no', watermark) }}
),

renamed as (
    select
        cast(transaction_id as {{ dbt.type_string() }}) as transaction_id,
        cast(line_no as {{ dbt.type_int() }}) as line_no,
        cast(store_id as {{ dbt.type_string() }}) as store_id,
        {{ utc_timestamp('occurred_at') }} as occurred_at,
        nullif(trim(cast(loyalty_card as {{ dbt.type_string() }})), '') as loyalty_card,
        nullif(trim(cast(email as {{ dbt.type_string() }})), '') as email_text,
        nullif(trim(cast(phone as {{ dbt.type_string() }})), '') as phone_text,
        nullif(trim(cast(product_id as {{ dbt.type_string() }})), '') as product_id,
        cast(quantity as {{ dbt.type_int() }}) as quantity,
        cast(unit_price as double) as unit_price,
        upper(trim(cast(currency as {{ dbt.type_string() }}))) as currency,
        _source_file as source_file,
        _source_row as source_row,
        _dlt_load_id
    from deduplicated
),

final as (
    select
        *,
        quantity * unit_price as line_revenue
    from renamed
)

select * from final
