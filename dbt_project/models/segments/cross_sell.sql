-- Cross-sell: people browsing a category recently (web or app) that they have never bought,
-- who have bought other categories before, online or in store. The brief's story: browsing
-- boots in the app, boots left in the web cart, hiking gear bought in a store last season.
-- One row per person: the new category they look at most (ties: most recent).

with purchased_categories as (
    select
        customer_id,
        category,
        max(case when channel = 'in_store' then 1 else 0 end) as bought_in_store,
        max(case when channel = 'online' then 1 else 0 end) as bought_online,
        max(ordered_at) as last_bought_at
    from {{ ref('customer_purchases') }}
    where category is not null
    group by customer_id, category
),

purchase_history as (
    select
        customer_id,
        {{ sorted_string_agg('category', "', '") }} as bought_categories,
        max(bought_in_store) = 1 as bought_in_store,
        max(bought_online) = 1 as bought_online,
        max(last_bought_at) as last_purchase_at
    from purchased_categories
    group by customer_id
),

browsed_categories as (
    select
        events.customer_id,
        events.category,
        count(*) as views_recent,
        max(events.occurred_at) as last_viewed_at
    from {{ ref('customer_events') }} as events
    cross join {{ ref('int_clock') }} as clock
    where
        events.event_type in ('product_view', 'screen_view', 'add_to_cart')
        and events.category is not null
        and events.occurred_at > clock.recent_since
        and events.occurred_at <= clock.as_of
    group by events.customer_id, events.category
),

new_interests as (
    select
        browsed.customer_id,
        browsed.category,
        browsed.views_recent,
        browsed.last_viewed_at,
        row_number() over (
            partition by browsed.customer_id
            order by browsed.views_recent desc, browsed.last_viewed_at desc, browsed.category asc
        ) as interest_rank
    from browsed_categories as browsed
    where not exists (
        select 1
        from purchased_categories as purchased
        where
            purchased.customer_id = browsed.customer_id
            and purchased.category = browsed.category
    )
)

select
    {{ segment_contact_columns('customers') }},
    interest.category as browsing_category,
    interest.views_recent as views_in_category_recent,
    interest.last_viewed_at,
    history.bought_categories,
    history.bought_in_store,
    history.bought_online,
    history.last_purchase_at,
    case
        when customers.open_cart_category = interest.category then customers.open_cart_product_name
    end as product_left_in_cart,
    'browsing ' || interest.category || ', bought ' || history.bought_categories
    || case
        when history.bought_in_store and history.bought_online then ' online and in store'
        when history.bought_in_store then ' in store'
        else ' online'
    end
    || case
        when customers.open_cart_category = interest.category
            then ', left ' || coalesce(customers.open_cart_product_name, customers.open_cart_product_id) || ' in the cart'
        else ''
    end as why_in_segment
from new_interests as interest
inner join purchase_history as history
    on interest.customer_id = history.customer_id
inner join {{ ref('customer_360') }} as customers
    on interest.customer_id = customers.customer_id
where
    interest.interest_rank = 1
    and (customers.email is not null or customers.phone is not null)
