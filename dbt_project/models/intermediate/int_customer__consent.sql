-- One row per customer with a consent statement or an unsubscribe: the latest email-marketing
-- consent (CRM or email platform), the latest ads consent (CRM), and whether they ever
-- unsubscribed (subscriber status or an unsubscribe event). A demo source that is switched
-- off feeds nothing (staging_or_empty).

with identities as (
    select * from {{ ref('customer_identities') }}
),

events as (
    select * from {{ ref('customer_events') }}
),

contacts as (
    select * from {{ staging_or_empty('stg_crm__contacts', {
        'crm_id': 'string', 'email_marketing_consent': 'boolean', 'ads_consent': 'boolean',
        'consent_updated_at': 'timestamp',
    }) }}
),

subscribers as (
    select * from {{ staging_or_empty('stg_email__subscribers', {
        'subscriber_id': 'string', 'status': 'string', 'subscribed_at': 'timestamp',
        'unsubscribed_at': 'timestamp', 'updated_at': 'timestamp',
    }) }}
),

email_consent_statements as (
    select
        identities.customer_id,
        'crm' as source,
        contacts.email_marketing_consent as consent,
        contacts.consent_updated_at as stated_at
    from contacts
    inner join identities
        on identities.source = 'crm' and contacts.crm_id = identities.source_record_id
    where contacts.email_marketing_consent is not null

    union all

    select
        identities.customer_id,
        'email' as source,
        subscribers.status = 'subscribed' as consent,
        case
            when subscribers.status = 'unsubscribed'
                then coalesce(subscribers.unsubscribed_at, subscribers.updated_at)
            else coalesce(subscribers.subscribed_at, subscribers.updated_at)
        end as stated_at
    from subscribers
    inner join identities
        on identities.source = 'email' and subscribers.subscriber_id = identities.source_record_id
    where subscribers.status in ('subscribed', 'unsubscribed')
),

email_consent as (
    {{ first_row_per('email_consent_statements', 'customer_id', 'stated_at desc nulls last, consent, source') }}
),

ads_consent_statements as (
    select
        identities.customer_id,
        'crm' as source,
        contacts.ads_consent as consent,
        contacts.consent_updated_at as stated_at
    from contacts
    inner join identities
        on identities.source = 'crm' and contacts.crm_id = identities.source_record_id
    where contacts.ads_consent is not null
),

ads_consent as (
    {{ first_row_per('ads_consent_statements', 'customer_id', 'stated_at desc nulls last, consent') }}
),

unsubscribes as (
    -- an unsubscribe anywhere (subscriber status or an unsubscribe event) is never undone here
    select identities.customer_id
    from subscribers
    inner join identities
        on identities.source = 'email' and subscribers.subscriber_id = identities.source_record_id
    where subscribers.status = 'unsubscribed'

    union

    select customer_id
    from events
    where event_type = 'email_unsubscribe'
),

customers as (
    select customer_id from email_consent
    union
    select customer_id from ads_consent
    union
    select customer_id from unsubscribes
),

final as (
    select
        customers.customer_id,
        email_consent.consent as consent_email_marketing,
        email_consent.source as consent_email_marketing_source,
        email_consent.stated_at as consent_email_marketing_at,
        ads_consent.consent as consent_ads,
        ads_consent.source as consent_ads_source,
        ads_consent.stated_at as consent_ads_at,
        unsubscribes.customer_id is not null as email_unsubscribed
    from customers
    left join email_consent on customers.customer_id = email_consent.customer_id
    left join ads_consent on customers.customer_id = ads_consent.customer_id
    left join unsubscribes on customers.customer_id = unsubscribes.customer_id
)

select * from final
