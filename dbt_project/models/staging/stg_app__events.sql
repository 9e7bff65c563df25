-- Mobile app events, one row per event (duplicates by event_id dropped, first load kept).
{{ config(
    enabled=model_enabled(model.name),
    materialized=incremental_materialization(),
    unique_key='event_id',
    incremental_strategy='delete+insert',
) }}
{%- set watermark = load_watermark() %}
with source as (
    select * from {{ source('raw_app', 'events') }}
    where {{ completed_loads_since(source('raw_app', 'events'), watermark) }}
),

deduplicated as (
    {{ first_load_per('source', 'event_id', watermark) }}
),

renamed as (
    select
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        nullif(trim(cast(device_id as {{ dbt.type_string() }})), '') as device_id,
        nullif(trim(cast(user_id as {{ dbt.type_string() }})), '') as user_id,
        lower(trim(cast(event_type as {{ dbt.type_string() }}))) as event_type,
        {{ utc_timestamp('occurred_at') }} as occurred_at,
        cast(screen as {{ dbt.type_string() }}) as screen,
        nullif(trim(cast(product_id as {{ dbt.type_string() }})), '') as product_id,
        nullif(lower(trim(cast(category as {{ dbt.type_string() }}))), '') as category,
        lower(cast(os as {{ dbt.type_string() }})) as os,
        cast(app_version as {{ dbt.type_string() }}) as app_version,
        _source_file as source_file,
        _source_row as source_row,
        _dlt_load_id
    from deduplicated
),

final as (
    select * from renamed
)

select * from final
