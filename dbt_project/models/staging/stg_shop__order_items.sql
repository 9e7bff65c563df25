-- Online order lines (merged on order_item_id by the loader).
{{ config(enabled=model_enabled(model.name)) }}
with source as (
    select * from {{ source('raw_shop', 'order_items') }}
    where _cdp_deleted_at is null  -- gone from the shop (marked by cdp ingest's full scan)
),

renamed as (
    select
        cast(order_item_id as {{ dbt.type_string() }}) as order_item_id,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        cast(product_id as {{ dbt.type_string() }}) as product_id,
        cast(quantity as {{ dbt.type_int() }}) as quantity,
        cast(unit_price as double) as unit_price,
        {{ utc_timestamp('updated_at') }} as updated_at
    from source
),

final as (
    select
        *,
        quantity * unit_price as line_revenue
    from renamed
)

select * from final
