-- Identity input (third party): one row per data-broker record. It carries the hashed
-- email when the broker has one, else name and postcode.
{{ config(
    enabled=model_enabled(model.name),
    materialized=incremental_materialization(),
    unique_key='broker_record_id',
    incremental_strategy='delete+insert',
) }}
{%- set watermark = load_watermark() %}
with source as (
    select * from {{ source('raw_broker', 'enrichment') }}
    where {{ completed_loads_since(source('raw_broker', 'enrichment'), watermark) }}
),

deduplicated as (
    {{ first_load_per('source', 'broker_record_id', watermark) }}
),

countries as (
    select * from {{ ref('country_codes') }}
),

renamed as (
    select
        cast(deduplicated.broker_record_id as {{ dbt.type_string() }}) as broker_record_id,
        cast(deduplicated.email_sha256 as {{ dbt.type_string() }}) as email_sha256_text,
        {{ absent_identity_texts(present=['first_name_text', 'last_name_text', 'postcode_text', 'country_text', 'postcode_pattern']) }},
        cast(deduplicated.first_name as {{ dbt.type_string() }}) as first_name_text,
        cast(deduplicated.last_name as {{ dbt.type_string() }}) as last_name_text,
        cast(deduplicated.postcode as {{ dbt.type_string() }}) as postcode_text,
        cast(deduplicated.country as {{ dbt.type_string() }}) as country_text,
        countries.postcode_pattern,
        nullif(trim(cast(deduplicated.age_band as {{ dbt.type_string() }})), '') as age_band,
        nullif(trim(cast(deduplicated.income_band as {{ dbt.type_string() }})), '') as income_band,
        lower(cast(deduplicated.interests as {{ dbt.type_string() }})) as interests_text,
        {{ utc_timestamp('deduplicated.delivered_at') }} as delivered_at,
        deduplicated._dlt_load_id
    from deduplicated
    left join countries
        on upper(trim(cast(deduplicated.country as {{ dbt.type_string() }}))) = countries.country_code
),

final as (
    select
        'broker' as source,
        broker_record_id as source_record_id,
        'third' as party,
        {{ person_identity_columns(email_sha256_text='email_sha256_text') }},
        delivered_at as observed_at,
        broker_record_id,
        age_band,
        income_band,
        {{ split_to_list('interests_text', "','") }} as interests,
        delivered_at,
        _dlt_load_id
    from renamed
)

select * from final
