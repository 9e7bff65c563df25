-- Consideration: people we can reach who have not bought yet and are weighing it up:
-- they came back to product pages on at least two different days, or asked for information,
-- in the recent window.

with recent_interest as (
    select
        events.customer_id,
        count(case when events.event_type = 'product_view' then 1 end) as product_views_recent,
        count(distinct case
            when events.event_type = 'product_view' then cast(events.occurred_at as date)
        end) as days_with_product_views,
        count(case when events.event_type = 'info_request' then 1 end) as info_requests_recent,
        max(events.occurred_at) as last_active_at
    from {{ ref('customer_events') }} as events
    cross join {{ ref('int_clock') }} as clock
    where
        events.event_type in ('product_view', 'info_request')
        and events.occurred_at > clock.recent_since
        and events.occurred_at <= clock.as_of
    group by events.customer_id
),

last_product_viewed as (
    select
        customer_id,
        product_id,
        category
    from (
        select
            events.customer_id,
            events.product_id,
            events.category,
            row_number() over (
                partition by events.customer_id order by events.occurred_at desc, events.event_id asc
            ) as recency_rank
        from {{ ref('customer_events') }} as events
        cross join {{ ref('int_clock') }} as clock
        where
            events.event_type = 'product_view'
            and events.product_id is not null
            and events.occurred_at <= clock.as_of
    ) as ranked
    where recency_rank = 1
)

select
    {{ segment_contact_columns('customers') }},
    interest.product_views_recent,
    interest.days_with_product_views,
    interest.info_requests_recent,
    last_viewed.product_id as last_viewed_product_id,
    last_viewed.category as last_viewed_category,
    interest.last_active_at,
    case
        when interest.info_requests_recent > 0
            then 'asked for information ' || cast(interest.info_requests_recent as {{ dbt.type_string() }}) || ' time(s), no purchase yet'
        else 'viewed products on ' || cast(interest.days_with_product_views as {{ dbt.type_string() }}) || ' different days, no purchase yet'
    end as why_in_segment
from recent_interest as interest
inner join {{ ref('customer_360') }} as customers
    on interest.customer_id = customers.customer_id
left join last_product_viewed as last_viewed
    on interest.customer_id = last_viewed.customer_id
where
    (customers.email is not null or customers.phone is not null)
    and coalesce(customers.orders_total, 0) = 0
    and (interest.days_with_product_views >= 2 or interest.info_requests_recent > 0)
