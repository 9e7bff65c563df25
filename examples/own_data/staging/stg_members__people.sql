-- Identity input: one row per loyalty member (members_*.csv, merged on member_id).
{{ config(enabled=model_enabled(model.name)) }}
with source as (
    select * from {{ source('raw_members', 'people') }}
),

countries as (
    select * from {{ ref('country_codes') }}
),

renamed as (
    select
        cast(source.member_id as {{ dbt.type_string() }}) as member_id,
        cast(source.email as {{ dbt.type_string() }}) as email_text,
        cast(source.phone as {{ dbt.type_string() }}) as phone_text,
        cast(source.first_name as {{ dbt.type_string() }}) as first_name_text,
        cast(source.last_name as {{ dbt.type_string() }}) as last_name_text,
        cast(source.date_of_birth as {{ dbt.type_string() }}) as date_of_birth_text,
        cast(source.postcode as {{ dbt.type_string() }}) as postcode_text,
        cast(source.city as {{ dbt.type_string() }}) as city_text,
        cast(source.country as {{ dbt.type_string() }}) as country_text,
        {{ absent_identity_texts(present=[
            'email_text', 'phone_text', 'first_name_text', 'last_name_text', 'date_of_birth_text',
            'postcode_text', 'city_text', 'country_text', 'postcode_pattern',
        ]) }},
        countries.postcode_pattern,
        {{ utc_timestamp('source.joined_at') }} as joined_at
    from source
    left join countries
        on upper(trim(cast(source.country as {{ dbt.type_string() }}))) = countries.country_code
),

final as (
    select
        'members' as source,
        member_id as source_record_id,
        'first' as party,
        {{ person_identity_columns() }},
        joined_at as observed_at,
        member_id,
        joined_at
    from renamed
)

select * from final
