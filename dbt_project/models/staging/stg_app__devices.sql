-- Identity input: one row per app install (device_id), with the shop customer it last
-- logged in as (user_id). Its earlier events follow the person once stitched.
-- Incremental: rebuilt for the keys with rows loaded since the last build, from all their rows.
{{ config(
    enabled=model_enabled(model.name),
    materialized=incremental_materialization(),
    unique_key='device_id',
    incremental_strategy='delete+insert',
) }}
{%- set watermark = load_watermark() %}
with events as (
    select * from {{ ref('stg_app__events') }}
    where
        device_id is not null
        and {{ keys_loaded_since(ref('stg_app__events'), 'device_id', watermark) }}
),

devices as (
    select
        device_id,
        {{ latest_non_null('user_id', 'occurred_at') }} as user_id,
        {{ latest_non_null('os', 'occurred_at') }} as os,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as observed_at,
        max(_dlt_load_id) as _dlt_load_id
    from events
    group by device_id
),

renamed as (
    select
        device_id,
        user_id,
        os,
        {{ absent_identity_texts(present=[]) }},
        first_seen_at,
        observed_at,
        _dlt_load_id
    from devices
),

final as (
    select
        'app' as source,
        device_id as source_record_id,
        'first' as party,
        {{ person_identity_columns() }},
        observed_at,
        first_seen_at,
        device_id,
        user_id,
        os,
        _dlt_load_id
    from renamed
)

select * from final
