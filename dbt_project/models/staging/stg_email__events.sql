-- Email engagement events (sent, open, click, bounce, unsubscribe), one row per event_id.
{{ config(enabled=model_enabled(model.name)) }}
with source as (
    select * from {{ source('raw_email', 'events') }}
),

deduplicated as (
    {{ first_row_per('source', 'event_id', '_dlt_load_id, _source_file, _source_row') }}
),

renamed as (
    select
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        {{ normalise_email('email') }} as email,
        lower(trim(cast(event_type as {{ dbt.type_string() }}))) as event_type,
        cast(campaign_id as {{ dbt.type_string() }}) as campaign_id,
        {{ utc_timestamp('occurred_at') }} as occurred_at,
        _source_file as source_file,
        _source_row as source_row
    from deduplicated
),

final as (
    select * from renamed
)

select * from final
