-- Identity input: one row per email platform subscriber (merged on subscriber_id by the
-- loader) with its subscription status; an unsubscribe is never overridden downstream.
-- Incremental: the rows the loader merged since the last build replace their earlier version.
{{ config(
    enabled=model_enabled(model.name),
    materialized=incremental_materialization(),
    unique_key='subscriber_id',
    incremental_strategy='delete+insert',
) }}
{%- set watermark = load_watermark() %}
with source as (
    select * from {{ source('raw_email', 'subscribers') }}
    where {{ completed_loads_since(source('raw_email', 'subscribers'), watermark) }}
),

renamed as (
    select
        cast(subscriber_id as {{ dbt.type_string() }}) as subscriber_id,
        cast(email as {{ dbt.type_string() }}) as email_text,
        {{ absent_identity_texts(present=['email_text']) }},
        lower(trim(cast(status as {{ dbt.type_string() }}))) as status,
        {{ utc_timestamp('subscribed_at') }} as subscribed_at,
        {{ utc_timestamp('unsubscribed_at') }} as unsubscribed_at,
        {{ utc_timestamp('updated_at') }} as updated_at,
        _dlt_load_id
    from source
),

final as (
    select
        'email' as source,
        subscriber_id as source_record_id,
        'first' as party,
        {{ person_identity_columns() }},
        coalesce(updated_at, subscribed_at) as observed_at,
        subscriber_id,
        status,
        subscribed_at,
        unsubscribed_at,
        updated_at,
        _dlt_load_id
    from renamed
)

select * from final
