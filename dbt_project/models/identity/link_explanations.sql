-- Why each linked record is in its customer: the deciding link (the most trusted one tying
-- it into its cluster) with its rule, partner record and, for a Splink link, the match
-- weight of every comparison (cdp/identity/explain.py writes the JSON).
with record_customers as (
    select * from {{ ref('record_customers') }}
),

final as (
    select
        customer_id,
        source,
        source_record_id,
        link_rule,
        linked_to,
        match_probability,
        match_weight,
        explanation
    from record_customers
    where link_rule <> 'singleton'
)

select * from final
