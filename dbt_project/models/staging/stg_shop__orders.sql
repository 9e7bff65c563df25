-- Online orders (merged on order_id by the loader; status changes in place).
{{ config(enabled=model_enabled(model.name)) }}
with source as (
    select * from {{ source('raw_shop', 'orders') }}
    where _cdp_deleted_at is null  -- gone from the shop (marked by cdp ingest's full scan)
),

renamed as (
    select
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        {{ utc_timestamp('ordered_at') }} as ordered_at,
        lower(trim(cast(status as {{ dbt.type_string() }}))) as status,
        cast(total as double) as total,
        upper(trim(cast(currency as {{ dbt.type_string() }}))) as currency,
        {{ utc_timestamp('updated_at') }} as updated_at
    from source
),

final as (
    select
        *,
        status in ('placed', 'shipped') as is_purchase
    from renamed
)

select * from final
