-- Identity input: one row per ERP account, with the billing details of its latest invoice.
-- The billing name is one string, "First Last" or "Last, First"; it is split here.
-- Incremental: rebuilt for the keys with rows loaded since the last build, from all their rows.
{{ config(
    enabled=model_enabled(model.name),
    materialized=incremental_materialization(),
    unique_key='account_number',
    incremental_strategy='delete+insert',
) }}
{%- set watermark = load_watermark() %}
with invoices as (
    select
        *,
        max(_dlt_load_id) over (partition by account_number) as account_load_id
    from {{ ref('stg_erp__invoices') }}
    where
        account_number is not null
        and {{ keys_loaded_since(ref('stg_erp__invoices'), 'account_number', watermark) }}
),

latest_invoice as (
    {{ first_row_per('invoices', 'account_number', 'issued_at desc, invoice_id desc') }}
),

accounts as (
    select
        account_number,
        billing_name,
        case
            when {{ dbt.position("','", 'billing_name') }} > 0
                then trim({{ dbt.split_part('billing_name', "','", 2) }})
            else {{ dbt.split_part('billing_name', "' '", 1) }}
        end as first_name_text,
        case
            when {{ dbt.position("','", 'billing_name') }} > 0
                then trim({{ dbt.split_part('billing_name', "','", 1) }})
            else nullif(trim(substring(billing_name, {{ dbt.length(dbt.split_part('billing_name', "' '", 1)) }} + 2)), '')
        end as last_name_text,
        billing_address,
        billing_postcode,
        billing_city,
        billing_country,
        issued_at,
        account_load_id
    from latest_invoice
),

countries as (
    select * from {{ ref('country_codes') }}
),

renamed as (
    select
        accounts.account_number,
        accounts.billing_name,
        {{ absent_identity_texts(present=['first_name_text', 'last_name_text', 'address_text', 'postcode_text', 'city_text', 'country_text', 'postcode_pattern']) }},
        accounts.first_name_text,
        accounts.last_name_text,
        accounts.billing_address as address_text,
        accounts.billing_postcode as postcode_text,
        accounts.billing_city as city_text,
        accounts.billing_country as country_text,
        countries.postcode_pattern,
        accounts.issued_at,
        accounts.account_load_id as _dlt_load_id
    from accounts
    left join countries
        on upper(trim(accounts.billing_country)) = countries.country_code
),

final as (
    select
        'erp' as source,
        account_number as source_record_id,
        'first' as party,
        {{ person_identity_columns() }},
        issued_at as observed_at,
        account_number,
        billing_name,
        _dlt_load_id
    from renamed
)

select * from final
