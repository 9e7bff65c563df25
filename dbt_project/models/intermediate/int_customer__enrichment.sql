-- One row per customer a data broker delivered a record for: the attributes of the latest
-- broker record (age band, income band, interests). A demo source that is switched off
-- feeds nothing (staging_or_empty).

with identities as (
    select * from {{ ref('customer_identities') }}
),

enrichment as (
    select * from {{ staging_or_empty('stg_broker__enrichment', {
        'broker_record_id': 'string', 'age_band': 'string', 'income_band': 'string',
        'interests': 'string[]', 'delivered_at': 'timestamp',
    }) }}
),

broker_records as (
    select
        enrichment.*,
        identities.customer_id
    from enrichment
    inner join identities
        on identities.source = 'broker' and enrichment.broker_record_id = identities.source_record_id
),

latest_broker_record as (
    {{ first_row_per('broker_records', 'customer_id', 'delivered_at desc nulls last, broker_record_id') }}
),

final as (
    select
        customer_id,
        age_band as broker_age_band,
        income_band as broker_income_band,
        coalesce(interests, {{ empty_list() }}) as broker_interests
    from latest_broker_record
)

select * from final
