-- Product catalogue (merged on product_id by the loader).
{{ config(enabled=model_enabled(model.name)) }}
with source as (
    select * from {{ source('raw_shop', 'products') }}
    where _cdp_deleted_at is null  -- gone from the shop (marked by cdp ingest's full scan)
),

renamed as (
    select
        cast(product_id as {{ dbt.type_string() }}) as product_id,
        {{ clean_text('cast(name as ' ~ dbt.type_string() ~ ')') }} as product_name,
        nullif(lower(trim(cast(category as {{ dbt.type_string() }}))), '') as category,
        cast(price as double) as price,
        upper(trim(cast(currency as {{ dbt.type_string() }}))) as currency,
        {{ utc_timestamp('updated_at') }} as updated_at
    from source
),

final as (
    select * from renamed
)

select * from final
