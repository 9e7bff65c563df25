-- Cart abandoners: put a product in the cart (web or app) within the last 72 hours
-- (dbt var cart_abandoned_hours) and have not ordered since, online or in store.
-- The open cart itself (latest product added and not bought) is worked out in int_customer__cart.

with categories_bought as (
    select
        customer_id,
        {{ sorted_string_agg('category', "', '") }} as past_purchase_categories
    from (
        select distinct
            customer_id,
            category
        from {{ ref('customer_purchases') }}
        where category is not null
    ) as distinct_categories
    group by customer_id
),

open_carts as (
    select
        customers.customer_id,
        customers.open_cart_product_id,
        customers.open_cart_product_name,
        customers.open_cart_category,
        customers.open_cart_at,
        {{ boundaries_between('hour', 'customers.open_cart_at', 'clock.as_of') }} as hours_since_added
    from {{ ref('customer_360') }} as customers
    cross join {{ ref('int_clock') }} as clock
    where
        customers.open_cart_product_id is not null
        and customers.open_cart_at > clock.cart_since
        and customers.open_cart_at <= clock.as_of
        and not exists (
            select 1
            from {{ ref('customer_purchases') }} as purchases
            where
                purchases.customer_id = customers.customer_id
                and purchases.ordered_at >= customers.open_cart_at
        )
)

select
    {{ segment_contact_columns('customers') }},
    carts.open_cart_product_id as product_id,
    carts.open_cart_product_name as product_name,
    carts.open_cart_category as product_category,
    carts.open_cart_at as added_to_cart_at,
    carts.hours_since_added,
    categories.past_purchase_categories,
    coalesce(customers.orders_total, 0) as past_orders,
    'left ' || coalesce(carts.open_cart_product_name, carts.open_cart_product_id)
    || ' in the cart ' || cast(carts.hours_since_added as {{ dbt.type_string() }})
    || ' hours ago, no order since' as why_in_segment
from open_carts as carts
inner join {{ ref('customer_360') }} as customers
    on carts.customer_id = customers.customer_id
left join categories_bought as categories
    on carts.customer_id = categories.customer_id
where customers.email is not null or customers.phone is not null
