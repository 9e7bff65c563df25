-- One row per source record: which customer it belongs to and how it was linked.
with record_customers as (
    select * from {{ ref('record_customers') }}
),

identity_inputs as (
    select * from {{ ref('identity_inputs') }}
),

final as (
    select
        record_customers.source,
        record_customers.source_record_id,
        record_customers.customer_id,
        identity_inputs.party,
        record_customers.link_rule,
        record_customers.match_probability
    from record_customers
    inner join identity_inputs
        on
            record_customers.source = identity_inputs.source
            and record_customers.source_record_id = identity_inputs.source_record_id
)

select * from final
