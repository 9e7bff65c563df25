-- Identity input: one row per shop customer account (merged on customer_id by the loader).
-- The customer id is the `user_id` web and app events carry once someone logs in.
-- Incremental: the rows the loader merged since the last build replace their earlier version.
{{ config(
    enabled=model_enabled(model.name),
    materialized=incremental_materialization(),
    unique_key='customer_id',
    incremental_strategy='delete+insert',
    post_hook="{{ delete_tombstones() }}",
) }}
{%- set watermark = load_watermark() %}
with source as (
    select * from {{ source('raw_shop', 'customers') }}
    -- gone from the shop (marked by cdp ingest's full scan): see live_rows
    where {{ live_rows(watermark) }} and {{ completed_loads_since(source('raw_shop', 'customers'), watermark) }}
),

countries as (
    select * from {{ ref('country_codes') }}
),

renamed as (
    select
        cast(source.customer_id as {{ dbt.type_string() }}) as customer_id,
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
        {{ utc_timestamp('source.created_at') }} as created_at,
        {{ utc_timestamp('source.updated_at') }} as updated_at,
        source._dlt_load_id,
        source._cdp_deleted_at
    from source
    left join countries
        on upper(trim(cast(source.country as {{ dbt.type_string() }}))) = countries.country_code
),

final as (
    select
        'shop' as source,
        customer_id as source_record_id,
        'first' as party,
        {{ person_identity_columns() }},
        coalesce(updated_at, created_at) as observed_at,
        customer_id,
        customer_id as user_id,
        created_at,
        updated_at,
        _dlt_load_id,
        _cdp_deleted_at
    from renamed
)

select * from final
