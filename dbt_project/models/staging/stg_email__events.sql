-- Email engagement events (sent, open, click, bounce, unsubscribe), one row per event_id.
{{ config(
    enabled=model_enabled(model.name),
    materialized=incremental_materialization(),
    unique_key='event_id',
    incremental_strategy='delete+insert',
) }}
{%- set watermark = load_watermark() %}
with source as (
    select * from {{ source('raw_email', 'events') }}
    where {{ completed_loads_since(source('raw_email', 'events'), watermark) }}
),

deduplicated as (
    {{ first_load_per('source', 'event_id', watermark) }}
),

renamed as (
    select
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        {{ normalise_email('email') }} as email,
        lower(trim(cast(event_type as {{ dbt.type_string() }}))) as event_type,
        cast(campaign_id as {{ dbt.type_string() }}) as campaign_id,
        {{ utc_timestamp('occurred_at') }} as occurred_at,
        _source_file as source_file,
        _source_row as source_row,
        _dlt_load_id
    from deduplicated
),

final as (
    select * from renamed
)

select * from final
