-- One row per customer: the golden record (survivorship: most trusted source, then most
-- recent value), every known email and phone, consent per purpose, orders and revenue,
-- RFM, recent browsing, open cart, email engagement, lifecycle stage, partner and broker
-- attributes, and the source records behind the profile. A demo source that is switched off
-- feeds nothing (staging_or_empty): its columns are null, its counts 0.
{%- set as_of = var('as_of', none) %}

with identities as (
    select * from {{ ref('customer_identities') }}
),

identity_inputs as (
    select * from {{ ref('identity_inputs') }}
),

source_trust as (
    select * from {{ ref('source_trust') }}
),

events as (
    select * from {{ ref('customer_events') }}
),

purchases as (
    select * from {{ ref('customer_purchases') }}
),

clock as (
    -- "now" for every recency window: dbt var as_of, default the newest event
    select
        coalesce(
            {% if as_of %}cast('{{ as_of }}' as {{ dbt.type_timestamp() }}){% else %}null{% endif %},
            max(occurred_at)
        ) as as_of
    from events
),

trusted_records as (
    select
        identity_inputs.*,
        identities.customer_id,
        coalesce(source_trust.trust_rank, 99) as trust_rank
    from identities
    inner join identity_inputs
        on
            identities.source = identity_inputs.source
            and identities.source_record_id = identity_inputs.source_record_id
    left join source_trust
        on identity_inputs.source = source_trust.source
),

records as (
    select
        *,
        {{ survivorship_rank() }} as survivorship_rank
    from trusted_records
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
        max(observed_at) as last_observed_at
    from records
    group by customer_id
),

email_consent_statements as (
    select
        identities.customer_id,
        'crm' as source,
        contacts.email_marketing_consent as consent,
        contacts.consent_updated_at as stated_at
    from {{ staging_or_empty('stg_crm__contacts', {
        'crm_id': 'varchar', 'email_marketing_consent': 'boolean', 'ads_consent': 'boolean',
        'consent_updated_at': 'timestamp',
    }) }} as contacts
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
    from {{ staging_or_empty('stg_email__subscribers', {
        'subscriber_id': 'varchar', 'status': 'varchar', 'subscribed_at': 'timestamp',
        'unsubscribed_at': 'timestamp', 'updated_at': 'timestamp',
    }) }} as subscribers
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
    from {{ staging_or_empty('stg_crm__contacts', {
        'crm_id': 'varchar', 'email_marketing_consent': 'boolean', 'ads_consent': 'boolean',
        'consent_updated_at': 'timestamp',
    }) }} as contacts
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
    from {{ staging_or_empty('stg_email__subscribers', {
        'subscriber_id': 'varchar', 'status': 'varchar', 'subscribed_at': 'timestamp',
        'unsubscribed_at': 'timestamp', 'updated_at': 'timestamp',
    }) }} as subscribers
    inner join identities
        on identities.source = 'email' and subscribers.subscriber_id = identities.source_record_id
    where subscribers.status = 'unsubscribed'

    union

    select customer_id
    from events
    where event_type = 'email_unsubscribe'
),

orders as (
    select
        customer_id,
        count(distinct case when channel = 'online' then order_id end) as orders_online,
        count(distinct case when channel = 'in_store' then order_id end) as orders_in_store,
        count(distinct channel || ':' || order_id) as orders_total,
        -- rounded to cents: a float sum's last digits vary with row order from build to
        -- build, and syncs must not see a change where there is none
        round(sum(revenue), 2) as revenue,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        {{ distinct_list('category') }} as categories_purchased
    from purchases
    group by customer_id
),

rfm as (
    select
        customer_id,
        cast(ntile(5) over (order by last_order_at, customer_id) as {{ dbt.type_int() }}) as rfm_recency,
        cast(ntile(5) over (order by orders_total, customer_id) as {{ dbt.type_int() }}) as rfm_frequency,
        cast(ntile(5) over (order by revenue, customer_id) as {{ dbt.type_int() }}) as rfm_monetary
    from orders
),

recent_events as (
    select events.*
    from events
    cross join clock
    where
        events.occurred_at > {{ dbt.dateadd('day', -var('recent_days'), 'clock.as_of') }}
        and events.occurred_at <= clock.as_of
),

recent_browsing as (
    select
        customer_id,
        {{ distinct_list("case when event_type in ('page_view', 'screen_view', 'product_view', 'add_to_cart') then category end") }}
            as categories_viewed_30d,
        {{ distinct_list("case when event_type = 'product_view' then product_id end") }} as products_viewed_30d,
        max(case when event_type in ('product_view', 'info_request') then 1 else 0 end) as has_consideration_signal
    from recent_events
    group by customer_id
),

cart_adds as (
    select
        events.customer_id,
        events.product_id,
        events.occurred_at
    from events
    cross join clock
    where
        events.event_type = 'add_to_cart'
        and events.product_id is not null
        and events.occurred_at <= clock.as_of
),

latest_cart_add as (
    {{ first_row_per('cart_adds', 'customer_id', 'occurred_at desc, product_id') }}
),

open_cart as (
    -- the latest product added to a cart, unless an order or a removal of it came after
    select latest_cart_add.*
    from latest_cart_add
    where not exists (
        select 1
        from events as later
        where
            later.customer_id = latest_cart_add.customer_id
            and later.occurred_at >= latest_cart_add.occurred_at
            and (
                later.event_type in ('order_completed', 'order_placed', 'order_shipped', 'in_store_purchase')
                or (later.event_type = 'remove_from_cart' and later.product_id = latest_cart_add.product_id)
            )
    )
),

products as (
    select * from {{ staging_or_empty('stg_shop__products', {
        'product_id': 'varchar', 'product_name': 'varchar', 'category': 'varchar',
    }) }}
),

email_engagement as (
    select
        events.customer_id,
        count(case when events.event_type = 'email_open' then 1 end) as email_opens_90d,
        count(case when events.event_type = 'email_click' then 1 end) as email_clicks_90d
    from events
    cross join clock
    where
        events.source = 'email'
        and events.occurred_at > {{ dbt.dateadd('day', -var('email_engagement_days'), 'clock.as_of') }}
        and events.occurred_at <= clock.as_of
    group by events.customer_id
),

partner as (
    select
        identities.customer_id,
        count(*) as partner_responses,
        {{ distinct_list('responses.interest') }} as partner_interests
    from {{ staging_or_empty('stg_partner__responses', {'response_id': 'varchar', 'interest': 'varchar'}) }} as responses
    inner join identities
        on identities.source = 'partner' and responses.response_id = identities.source_record_id
    group by identities.customer_id
),

broker_records as (
    select
        enrichment.*,
        identities.customer_id
    from {{ staging_or_empty('stg_broker__enrichment', {
        'broker_record_id': 'varchar', 'age_band': 'varchar', 'income_band': 'varchar',
        'interests': 'varchar[]', 'delivered_at': 'timestamp',
    }) }} as enrichment
    inner join identities
        on identities.source = 'broker' and enrichment.broker_record_id = identities.source_record_id
),

broker as (
    {{ first_row_per('broker_records', 'customer_id', 'delivered_at desc nulls last, broker_record_id') }}
),

seen as (
    select
        customer_id,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at
    from events
    group by customer_id
),

final as (
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
        email_consent.consent as consent_email_marketing,
        email_consent.source as consent_email_marketing_source,
        email_consent.stated_at as consent_email_marketing_at,
        ads_consent.consent as consent_ads,
        ads_consent.source as consent_ads_source,
        ads_consent.stated_at as consent_ads_at,
        unsubscribed.customer_id is not null as email_unsubscribed,
        least(seen.first_event_at, record_summary.first_observed_at) as first_seen_at,
        greatest(seen.last_event_at, record_summary.last_observed_at) as last_seen_at,
        record_summary.channels,
        coalesce(orders.orders_online, 0) as orders_online,
        coalesce(orders.orders_in_store, 0) as orders_in_store,
        coalesce(orders.orders_total, 0) as orders_total,
        coalesce(orders.revenue, 0) as revenue,
        round(orders.revenue / nullif(orders.orders_total, 0), 2) as average_order_value,
        orders.first_order_at,
        orders.last_order_at,
        rfm.rfm_recency,
        rfm.rfm_frequency,
        rfm.rfm_monetary,
        case
            when rfm.customer_id is null then null
            when rfm.rfm_recency >= 4 and rfm.rfm_frequency >= 4 then 'champions'
            when rfm.rfm_frequency >= 4 then 'loyal'
            when rfm.rfm_recency >= 4 and rfm.rfm_frequency <= 2 then 'new'
            when rfm.rfm_recency <= 2 and rfm.rfm_frequency >= 3 then 'at_risk'
            when rfm.rfm_recency <= 2 then 'hibernating'
            else 'promising'
        end as rfm_segment,
        coalesce(orders.categories_purchased, {{ empty_list() }}) as categories_purchased,
        coalesce(recent_browsing.categories_viewed_30d, {{ empty_list() }}) as categories_viewed_30d,
        coalesce(recent_browsing.products_viewed_30d, {{ empty_list() }}) as products_viewed_30d,
        open_cart.product_id as open_cart_product_id,
        products.product_name as open_cart_product_name,
        products.category as open_cart_category,
        open_cart.occurred_at as open_cart_at,
        coalesce(email_engagement.email_opens_90d, 0) as email_opens_90d,
        coalesce(email_engagement.email_clicks_90d, 0) as email_clicks_90d,
        case
            when
                orders.orders_total > 0
                and orders.last_order_at < {{ dbt.dateadd('day', -var('lapsed_after_days'), 'clock.as_of') }}
                then 'lapsed'
            when orders.orders_total >= {{ var('loyalty_min_orders') }} then 'loyalty'
            when orders.orders_total > 0 then 'retention'
            when open_cart.occurred_at > {{ dbt.dateadd('day', -var('recent_days'), 'clock.as_of') }} then 'acquisition'
            when recent_browsing.has_consideration_signal = 1 then 'consideration'
            else 'orientation'
        end as lifecycle_stage,
        coalesce(partner.partner_responses, 0) as partner_responses,
        coalesce(partner.partner_interests, {{ empty_list() }}) as partner_interests,
        broker.age_band as broker_age_band,
        broker.income_band as broker_income_band,
        coalesce(broker.interests, {{ empty_list() }}) as broker_interests,
        record_summary.source_record_count,
        record_summary.source_records
    from golden_record
    cross join clock
    inner join record_summary on golden_record.customer_id = record_summary.customer_id
    left join email_consent on golden_record.customer_id = email_consent.customer_id
    left join ads_consent on golden_record.customer_id = ads_consent.customer_id
    left join unsubscribes as unsubscribed on golden_record.customer_id = unsubscribed.customer_id
    left join seen on golden_record.customer_id = seen.customer_id
    left join orders on golden_record.customer_id = orders.customer_id
    left join rfm on golden_record.customer_id = rfm.customer_id
    left join recent_browsing on golden_record.customer_id = recent_browsing.customer_id
    left join open_cart on golden_record.customer_id = open_cart.customer_id
    left join products on open_cart.product_id = products.product_id
    left join email_engagement on golden_record.customer_id = email_engagement.customer_id
    left join partner on golden_record.customer_id = partner.customer_id
    left join broker on golden_record.customer_id = broker.customer_id
)

select * from final
