-- One row per customer: the golden record (survivorship: most trusted source in seed
-- source_trust, then the most recent record; names and the address block each from one
-- record) and the summary of the source records behind it.

-- Incremental: only the customers whose records changed are computed (macros/incremental.sql).
{{ config(
    materialized=incremental_materialization(),
    unique_key='customer_id',
    incremental_strategy='replace_customers',
    row_column='source_record_count',
    on_schema_change='fail',
) }}

with identities as (
    select * from {{ ref('customer_identities') }}
),

identity_inputs as (
    select * from {{ ref('identity_inputs') }}
),

source_trust as (
    select * from {{ ref('source_trust') }}
),

trusted_records as (
    select
        identity_inputs.*,
        identities.customer_id,
        coalesce(source_trust.trust_rank, 99) as trust_rank,
        -- the whole input row
        {{ row_hash('identity_inputs', ['identities.customer_id', 'source_trust.trust_rank']) }} as row_hash
    from identities
    inner join identity_inputs
        on
            identities.source = identity_inputs.source
            and identities.source_record_id = identity_inputs.source_record_id
    left join source_trust
        on identity_inputs.source = source_trust.source
),

{%- if incremental_build() %}

rebuilt_customers as (
    {{ customers_with_changed_inputs('trusted_records') }}
),
{%- endif %}

records as (
    select
        *,
        {{ survivorship_rank() }} as survivorship_rank
    from trusted_records
    where {{ of_rebuilt_customers() }}
),

golden_record as (
    select
        customer_id,
        {{ survivor('first_name_display', 'coalesce(first_name_display, last_name_display)') }} as first_name,
        {{ survivor('last_name_display', 'coalesce(first_name_display, last_name_display)') }} as last_name,
        {{ survivor('email') }} as email,
        {{ survivor('phone') }} as phone,
        {{ survivor('address_display', 'coalesce(address_display, postcode)') }} as address,
        {{ survivor('postcode', 'coalesce(address_display, postcode)') }} as postcode,
        {{ survivor('city_display', 'coalesce(address_display, postcode)') }} as city,
        {{ survivor('country', 'coalesce(address_display, postcode, country)') }} as country,
        {{ survivor('date_of_birth') }} as date_of_birth
    from records
    group by customer_id
),

record_summary as (
    select
        customer_id,
        {{ distinct_list('email') }} as all_emails,
        {{ distinct_list('phone') }} as all_phones,
        {{ distinct_list('source') }} as channels,
        count(*) as source_record_count,
        {{ distinct_list("source || ':' || source_record_id") }} as source_records,
        min(observed_at) as first_observed_at,
        max(observed_at) as last_observed_at,
        sum(row_hash) as inputs_hash
    from records
    group by customer_id
),

profiles as (
    select
        golden_record.customer_id,
        golden_record.first_name,
        golden_record.last_name,
        golden_record.email,
        golden_record.phone,
        golden_record.address,
        golden_record.postcode,
        golden_record.city,
        golden_record.country,
        golden_record.date_of_birth,
        record_summary.all_emails,
        record_summary.all_phones,
        record_summary.channels,
        record_summary.source_record_count,
        record_summary.source_records,
        record_summary.first_observed_at,
        record_summary.last_observed_at,
        record_summary.inputs_hash
    from golden_record
    inner join record_summary on golden_record.customer_id = record_summary.customer_id
),

final as (
    {{ only_rebuilt_customers('profiles') }}
)

select * from final
