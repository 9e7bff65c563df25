-- Website clickstream, one row per event: duplicated and late-arriving copies of an
-- event (same event_id, loaded twice) are dropped, keeping the first load.
{{ config(
    enabled=model_enabled(model.name),
    materialized=incremental_materialization(),
    unique_key='event_id',
    incremental_strategy='delete+insert',
) }}
{%- set watermark = load_watermark() %}
with source as (
    select * from {{ source('raw_web', 'events') }}
    where {{ completed_loads_since(source('raw_web', 'events'), watermark) }}
),

deduplicated as (
    {{ first_load_per('source', 'event_id', watermark) }}
),

renamed as (
    select
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        nullif(trim(cast(anonymous_id as {{ dbt.type_string() }})), '') as anonymous_id,
        nullif(trim(cast(user_id as {{ dbt.type_string() }})), '') as user_id,
        lower(trim(cast(event_type as {{ dbt.type_string() }}))) as event_type,
        {{ utc_timestamp('occurred_at') }} as occurred_at,
        cast(page_url as {{ dbt.type_string() }}) as page_url,
        nullif(trim(cast(product_id as {{ dbt.type_string() }})), '') as product_id,
        nullif(lower(trim(cast(category as {{ dbt.type_string() }}))), '') as category,
        cast(utm_source as {{ dbt.type_string() }}) as utm_source,
        cast(utm_medium as {{ dbt.type_string() }}) as utm_medium,
        cast(utm_campaign as {{ dbt.type_string() }}) as utm_campaign,
        {{ normalise_email('email') }} as email,
        not {{ is_blank('email') }} and {{ normalise_email('email') }} is null as email_is_invalid,
        _source_file as source_file,
        _source_row as source_row,
        _dlt_load_id
    from deduplicated
),

final as (
    select * from renamed
)

select * from final
