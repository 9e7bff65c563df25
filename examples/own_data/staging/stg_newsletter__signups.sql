-- Identity input: one row per newsletter sign-up (signups_*.csv, merged on signup_id): an
-- email and perhaps a name.
{{ config(enabled=model_enabled(model.name)) }}
with source as (
    select * from {{ source('raw_newsletter', 'signups') }}
),

renamed as (
    select
        cast(signup_id as {{ dbt.type_string() }}) as signup_id,
        cast(email as {{ dbt.type_string() }}) as email_text,
        cast(first_name as {{ dbt.type_string() }}) as first_name_text,
        cast(last_name as {{ dbt.type_string() }}) as last_name_text,
        {{ absent_identity_texts(present=['email_text', 'first_name_text', 'last_name_text']) }},
        {{ utc_timestamp('signed_up_at') }} as signed_up_at
    from source
),

final as (
    select
        'newsletter' as source,
        signup_id as source_record_id,
        'first' as party,
        {{ person_identity_columns() }},
        signed_up_at as observed_at,
        signup_id,
        signed_up_at
    from renamed
)

select * from final
