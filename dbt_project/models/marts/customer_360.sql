-- One row per customer: the golden record (survivorship: most trusted source, then most
-- recent value), every known email and phone, consent per purpose, orders and revenue,
-- RFM, recent browsing, open cart, email engagement, lifecycle stage, partner and broker
-- attributes, and the source records behind the profile.
-- The per-customer building blocks are the int_customer__* models (intermediate/); here only
-- what is global or counts back from "now" (int_clock): RFM quintiles over every buyer, the
-- browsing and email windows, the lifecycle stage, and the join of it all.

with profile as (
    select * from {{ ref('int_customer__profile') }}
),

consent as (
    select * from {{ ref('int_customer__consent') }}
),

orders as (
    select * from {{ ref('int_customer__orders') }}
),

engagement as (
    select * from {{ ref('int_customer__engagement') }}
),

enrichment as (
    select * from {{ ref('int_customer__enrichment') }}
),

open_cart as (
    select * from {{ ref('int_customer__cart') }}
),

events as (
    select * from {{ ref('customer_events') }}
),

clock as (
    select * from {{ ref('int_clock') }}
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
        events.occurred_at > clock.recent_since
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

email_engagement as (
    select
        events.customer_id,
        count(case when events.event_type = 'email_open' then 1 end) as email_opens_90d,
        count(case when events.event_type = 'email_click' then 1 end) as email_clicks_90d
    from events
    cross join clock
    where
        events.source = 'email'
        and events.occurred_at > clock.email_engagement_since
        and events.occurred_at <= clock.as_of
    group by events.customer_id
),

final as (
    select
        profile.customer_id,
        profile.first_name,
        profile.last_name,
        profile.email,
        profile.phone,
        profile.address,
        profile.postcode,
        profile.city,
        profile.country,
        profile.date_of_birth,
        profile.all_emails,
        profile.all_phones,
        consent.consent_email_marketing,
        consent.consent_email_marketing_source,
        consent.consent_email_marketing_at,
        consent.consent_ads,
        consent.consent_ads_source,
        consent.consent_ads_at,
        coalesce(consent.email_unsubscribed, false) as email_unsubscribed,
        least(engagement.first_event_at, profile.first_observed_at) as first_seen_at,
        greatest(engagement.last_event_at, profile.last_observed_at) as last_seen_at,
        profile.channels,
        coalesce(orders.orders_online, 0) as orders_online,
        coalesce(orders.orders_in_store, 0) as orders_in_store,
        coalesce(orders.orders_total, 0) as orders_total,
        coalesce(orders.revenue, 0) as revenue,
        {{ round_half_up('orders.revenue / nullif(orders.orders_total, 0)', 2) }} as average_order_value,
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
        open_cart.product_name as open_cart_product_name,
        open_cart.category as open_cart_category,
        open_cart.added_at as open_cart_at,
        coalesce(email_engagement.email_opens_90d, 0) as email_opens_90d,
        coalesce(email_engagement.email_clicks_90d, 0) as email_clicks_90d,
        case
            when orders.orders_total > 0 and orders.last_order_at < clock.lapsed_before then 'lapsed'
            when orders.orders_total >= {{ var('loyalty_min_orders') }} then 'loyalty'
            when orders.orders_total > 0 then 'retention'
            when open_cart.added_at > clock.recent_since then 'acquisition'
            when recent_browsing.has_consideration_signal = 1 then 'consideration'
            else 'orientation'
        end as lifecycle_stage,
        coalesce(engagement.partner_responses, 0) as partner_responses,
        coalesce(engagement.partner_interests, {{ empty_list() }}) as partner_interests,
        enrichment.broker_age_band,
        enrichment.broker_income_band,
        coalesce(enrichment.broker_interests, {{ empty_list() }}) as broker_interests,
        profile.source_record_count,
        profile.source_records
    from profile
    cross join clock
    left join consent on profile.customer_id = consent.customer_id
    left join engagement on profile.customer_id = engagement.customer_id
    left join orders on profile.customer_id = orders.customer_id
    left join rfm on profile.customer_id = rfm.customer_id
    left join recent_browsing on profile.customer_id = recent_browsing.customer_id
    left join open_cart on profile.customer_id = open_cart.customer_id
    left join email_engagement on profile.customer_id = email_engagement.customer_id
    left join enrichment on profile.customer_id = enrichment.customer_id
)

select * from final
