-- One row per customer with events or partner campaign responses: their first and latest
-- event, and the partner responses matched to them with the interests stated there.
-- A demo source that is switched off feeds nothing (staging_or_empty).

with identities as (
    select * from {{ ref('customer_identities') }}
),

events as (
    select * from {{ ref('customer_events') }}
),

responses as (
    select * from {{ staging_or_empty('stg_partner__responses', {'response_id': 'string', 'interest': 'string'}) }}
),

seen as (
    select
        customer_id,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at
    from events
    group by customer_id
),

partner as (
    select
        identities.customer_id,
        count(*) as partner_responses,
        {{ distinct_list('responses.interest') }} as partner_interests
    from responses
    inner join identities
        on identities.source = 'partner' and responses.response_id = identities.source_record_id
    group by identities.customer_id
),

final as (
    select
        coalesce(seen.customer_id, partner.customer_id) as customer_id,
        seen.first_event_at,
        seen.last_event_at,
        coalesce(partner.partner_responses, 0) as partner_responses,
        coalesce(partner.partner_interests, {{ empty_list() }}) as partner_interests
    from seen
    full outer join partner on seen.customer_id = partner.customer_id
)

select * from final
