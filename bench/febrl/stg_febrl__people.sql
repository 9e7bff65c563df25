-- Identity input: one row per FEBRL record (febrl/people.csv, merged on rec_id).
{{ config(enabled=model_enabled(model.name)) }}
with source as (
    select * from {{ source('raw_febrl', 'people') }}
),

countries as (
    select * from {{ ref('country_codes') }}
),

renamed as (
    select
        cast(source.rec_id as {{ dbt.type_string() }}) as rec_id,
        cast(source.given_name as {{ dbt.type_string() }}) as first_name_text,
        cast(source.surname as {{ dbt.type_string() }}) as last_name_text,
        cast(source.date_of_birth as {{ dbt.type_string() }}) as date_of_birth_text,  -- YYYYMMDD
        nullif(trim(
            coalesce(cast(source.street_number as {{ dbt.type_string() }}), '') || ' '
            || coalesce(cast(source.address_1 as {{ dbt.type_string() }}), '')
        ), '') as address_text,
        cast(source.postcode as {{ dbt.type_string() }}) as postcode_text,
        cast(source.suburb as {{ dbt.type_string() }}) as city_text,
        'AU' as country_text,
        {{ absent_identity_texts(present=[
            'first_name_text', 'last_name_text', 'date_of_birth_text', 'address_text',
            'postcode_text', 'city_text', 'country_text', 'postcode_pattern',
        ]) }},
        countries.postcode_pattern,
        nullif(trim(cast(source.soc_sec_id as {{ dbt.type_string() }})), '') as soc_sec_id,
        nullif(trim(cast(source.address_2 as {{ dbt.type_string() }})), '') as address_2
    from source
    left join countries
        on countries.country_code = 'AU'
),

final as (
    select
        'febrl' as source,
        rec_id as source_record_id,
        'first' as party,
        {{ person_identity_columns() }},
        cast(null as timestamp) as observed_at,
        soc_sec_id,
        address_2
    from renamed
)

select * from final
