-- Identity input: one row per app install (device_id), with the shop customer it last
-- logged in as (user_id). Its earlier events follow the person once stitched.
with events as (
    select * from {{ ref('stg_app__events') }}
    where device_id is not null
),

devices as (
    select
        device_id,
        {{ latest_non_null('user_id', 'occurred_at') }} as user_id,
        {{ latest_non_null('os', 'occurred_at') }} as os,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as observed_at
    from events
    group by device_id
),

renamed as (
    select
        device_id,
        user_id,
        os,
        cast(null as {{ dbt.type_string() }}) as email_text,
        cast(null as {{ dbt.type_string() }}) as phone_text,
        cast(null as {{ dbt.type_string() }}) as first_name_text,
        cast(null as {{ dbt.type_string() }}) as last_name_text,
        cast(null as {{ dbt.type_string() }}) as date_of_birth_text,
        cast(null as {{ dbt.type_string() }}) as address_text,
        cast(null as {{ dbt.type_string() }}) as postcode_text,
        cast(null as {{ dbt.type_string() }}) as city_text,
        cast(null as {{ dbt.type_string() }}) as country_text,
        cast(null as {{ dbt.type_string() }}) as postcode_pattern,
        first_seen_at,
        observed_at
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
        os
    from renamed
)

select * from final
