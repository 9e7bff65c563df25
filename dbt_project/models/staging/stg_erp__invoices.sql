-- ERP invoices and returns, one row per invoice_id; returns count negative in `net_amount`.
{{ config(
    enabled=model_enabled(model.name),
    materialized=incremental_materialization(),
    unique_key='invoice_id',
    incremental_strategy='delete+insert',
) }}
{%- set watermark = load_watermark() %}
with source as (
    select * from {{ source('raw_erp', 'invoices') }}
    where {{ completed_loads_since(source('raw_erp', 'invoices'), watermark) }}
),

deduplicated as (
    {{ first_load_per('source', 'invoice_id', watermark) }}
),

renamed as (
    select
        cast(invoice_id as {{ dbt.type_string() }}) as invoice_id,
        nullif(trim(cast(account_number as {{ dbt.type_string() }})), '') as account_number,
        {{ clean_text('cast(billing_name as ' ~ dbt.type_string() ~ ')') }} as billing_name,
        cast(billing_address as {{ dbt.type_string() }}) as billing_address,
        cast(billing_postcode as {{ dbt.type_string() }}) as billing_postcode,
        cast(billing_city as {{ dbt.type_string() }}) as billing_city,
        cast(billing_country as {{ dbt.type_string() }}) as billing_country,
        lower(trim(cast(document_type as {{ dbt.type_string() }}))) as document_type,
        {{ utc_timestamp('issued_at') }} as issued_at,
        cast(amount as double) as amount,
        upper(trim(cast(currency as {{ dbt.type_string() }}))) as currency,
        _source_file as source_file,
        _source_row as source_row,
        _dlt_load_id
    from deduplicated
),

final as (
    select
        *,
        case when document_type = 'return' then -abs(amount) else amount end as net_amount
    from renamed
)

select * from final
