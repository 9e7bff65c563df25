-- Orientation: people we can reach (email or phone known) who browse but have never bought,
-- and are not yet weighing up a purchase (those are in consideration, the next journey step).

with recent_browsing as (
    select
        events.customer_id,
        count(*) as pages_viewed_recent,
        count(distinct events.category) as categories_browsed_recent,
        min(events.occurred_at) as first_browsed_at,
        max(events.occurred_at) as last_browsed_at
    from {{ ref('customer_events') }} as events
    cross join {{ ref('int_clock') }} as clock
    where
        events.event_type in ('page_view', 'screen_view', 'product_view')
        and events.occurred_at > clock.recent_since
        and events.occurred_at <= clock.as_of
    group by events.customer_id
)

select
    {{ segment_contact_columns('customers') }},
    browsing.pages_viewed_recent,
    browsing.categories_browsed_recent,
    browsing.first_browsed_at,
    browsing.last_browsed_at,
    'browsed ' || cast(browsing.pages_viewed_recent as {{ dbt.type_string() }})
    || ' page(s) recently, never bought' as why_in_segment
from recent_browsing as browsing
inner join {{ ref('customer_360') }} as customers
    on browsing.customer_id = customers.customer_id
where
    (customers.email is not null or customers.phone is not null)
    and coalesce(customers.orders_total, 0) = 0
    and not exists (
        select 1
        from {{ ref('consideration') }} as considering
        where considering.customer_id = customers.customer_id
    )
