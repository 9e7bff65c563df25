-- Identity input (second party): one row per partner campaign response. The partner
-- shares only the SHA-256 of the normalised email, so that is the only identifier.
{{ config(
    enabled=model_enabled(model.name),
    materialized=incremental_materialization(),
    unique_key='response_id',
    incremental_strategy='delete+insert',
) }}
{%- set watermark = load_watermark() %}
with source as (
    select * from {{ source('raw_partner', 'responses') }}
    where {{ completed_loads_since(source('raw_partner', 'responses'), watermark) }}
),

deduplicated as (
    {{ first_load_per('source', 'response_id', watermark) }}
),

renamed as (
    select
        cast(response_id as {{ dbt.type_string() }}) as response_id,
        cast(email_sha256 as {{ dbt.type_string() }}) as email_sha256_text,
        {{ absent_identity_texts(present=[]) }},
        cast(campaign as {{ dbt.type_string() }}) as campaign,
        lower(trim(cast(response as {{ dbt.type_string() }}))) as response,
        nullif(lower(trim(cast(interest as {{ dbt.type_string() }}))), '') as interest,
        {{ utc_timestamp('responded_at') }} as responded_at,
        _dlt_load_id
    from deduplicated
),

final as (
    select
        'partner' as source,
        response_id as source_record_id,
        'second' as party,
        {{ person_identity_columns(email_sha256_text='email_sha256_text') }},
        responded_at as observed_at,
        response_id,
        campaign,
        response,
        interest,
        responded_at,
        _dlt_load_id
    from renamed
)

select * from final
