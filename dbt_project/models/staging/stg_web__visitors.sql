-- Identity input: one row per website visitor cookie (anonymous_id), with the shop
-- customer it last logged in as (user_id) and the email it last gave on a signup or
-- information request. Its earlier anonymous events follow the person once stitched.
-- Incremental: rebuilt for the keys with rows loaded since the last build, from all their rows.
{{ config(
    enabled=model_enabled(model.name),
    materialized=incremental_materialization(),
    unique_key='anonymous_id',
    incremental_strategy='delete+insert',
) }}
{%- set watermark = load_watermark() %}
with events as (
    select * from {{ ref('stg_web__events') }}
    where
        anonymous_id is not null
        and {{ keys_loaded_since(ref('stg_web__events'), 'anonymous_id', watermark) }}
),

visitors as (
    select
        anonymous_id,
        {{ latest_non_null('user_id', 'occurred_at') }} as user_id,
        {{ latest_non_null('email', 'occurred_at') }} as email_text,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as observed_at,
        max(_dlt_load_id) as _dlt_load_id
    from events
    group by anonymous_id
),

renamed as (
    select
        anonymous_id,
        user_id,
        email_text,
        {{ absent_identity_texts(present=['email_text']) }},
        first_seen_at,
        observed_at,
        _dlt_load_id
    from visitors
),

final as (
    select
        'web' as source,
        anonymous_id as source_record_id,
        'first' as party,
        {{ person_identity_columns() }},
        observed_at,
        first_seen_at,
        anonymous_id,
        user_id,
        _dlt_load_id
    from renamed
)

select * from final
