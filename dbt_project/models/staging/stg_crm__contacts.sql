-- Identity input: one row per CRM contact (merged on crm_id by the loader), with the
-- consent per purpose the CRM records.
-- Incremental: the rows the loader merged since the last build replace their earlier version.
{{ config(
    enabled=model_enabled(model.name),
    materialized=incremental_materialization(),
    unique_key='crm_id',
    incremental_strategy='delete+insert',
) }}
{%- set watermark = load_watermark() %}
with source as (
    select * from {{ source('raw_crm', 'contacts') }}
    where {{ completed_loads_since(source('raw_crm', 'contacts'), watermark) }}
),

countries as (
    select * from {{ ref('country_codes') }}
),

renamed as (
    select
        cast(source.crm_id as {{ dbt.type_string() }}) as crm_id,
        cast(source.email as {{ dbt.type_string() }}) as email_text,
        cast(source.phone as {{ dbt.type_string() }}) as phone_text,
        cast(source.first_name as {{ dbt.type_string() }}) as first_name_text,
        cast(source.last_name as {{ dbt.type_string() }}) as last_name_text,
        cast(source.date_of_birth as {{ dbt.type_string() }}) as date_of_birth_text,
        cast(source.address_line1 as {{ dbt.type_string() }}) as address_text,
        cast(source.postcode as {{ dbt.type_string() }}) as postcode_text,
        cast(source.city as {{ dbt.type_string() }}) as city_text,
        cast(source.country as {{ dbt.type_string() }}) as country_text,
        countries.postcode_pattern,
        cast(source.email_marketing_consent as {{ dbt.type_boolean() }}) as email_marketing_consent,
        cast(source.ads_consent as {{ dbt.type_boolean() }}) as ads_consent,
        {{ utc_timestamp('source.consent_updated_at') }} as consent_updated_at,
        {{ utc_timestamp('source.created_at') }} as created_at,
        {{ utc_timestamp('source.updated_at') }} as updated_at,
        source._dlt_load_id
    from source
    left join countries
        on upper(trim(cast(source.country as {{ dbt.type_string() }}))) = countries.country_code
),

final as (
    select
        'crm' as source,
        crm_id as source_record_id,
        'first' as party,
        {{ person_identity_columns() }},
        coalesce(updated_at, created_at) as observed_at,
        crm_id,
        email_marketing_consent,
        ads_consent,
        coalesce(consent_updated_at, updated_at) as consent_updated_at,
        created_at,
        updated_at,
        _dlt_load_id
    from renamed
)

select * from final
