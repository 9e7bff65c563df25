-- One row per customer with an open cart: the latest product they added to a cart (web or
-- app) up to "now" (int_clock.as_of), unless an order or a removal of it came after, with
-- the product's name and category. Reads the clock: a later as_of can close or open a cart.

with events as (
    select * from {{ ref('customer_events') }}
),

clock as (
    select * from {{ ref('int_clock') }}
),

products as (
    select * from {{ staging_or_empty('stg_shop__products', {
        'product_id': 'string', 'product_name': 'string', 'category': 'string',
    }) }}
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

final as (
    select
        open_cart.customer_id,
        open_cart.product_id,
        products.product_name,
        products.category,
        open_cart.occurred_at as added_at
    from open_cart
    left join products on open_cart.product_id = products.product_id
)

select * from final
