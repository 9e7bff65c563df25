-- Cart abandoners: put a product in the cart (web or app) within the last 72 hours
-- (dbt var cart_abandoned_hours) and have not ordered since, online or in store.
-- The open cart itself (latest product added and not bought) is worked out in customer_360.

with cart_history as (
    select
        customer_id,
        count(distinct order_id) as past_orders,
        {{ dbt.listagg('category', "', '", 'order by category') }} as past_purchase_categories
    from (
        select distinct customer_id, order_id, category
        from {{ ref('customer_purchases') }}
    ) as purchased
    group by customer_id
)

select
    customers.customer_id,
    customers.first_name,
    customers.last_name,
    customers.email,
    customers.phone,
    customers.country,
    customers.open_cart_product_id as product_id,
    customers.open_cart_product_name as product_name,
    customers.open_cart_category as product_category,
    customers.open_cart_at as added_to_cart_at,
    {{ dbt.datediff('customers.open_cart_at', 'clock.as_of', 'hour') }} as hours_since_added,
    coalesce(history.past_orders, 0) as past_orders,
    history.past_purchase_categories,
    'left ' || coalesce(customers.open_cart_product_name, customers.open_cart_product_id)
        || ' in the cart ' || cast({{ dbt.datediff('customers.open_cart_at', 'clock.as_of', 'hour') }} as {{ dbt.type_string() }})
        || ' hours ago, no order since' as why_in_segment
from {{ ref('customer_360') }} as customers
cross join {{ ref('segment_clock') }} as clock
left join cart_history as history
    on customers.customer_id = history.customer_id
where customers.open_cart_product_id is not null
    and customers.open_cart_at > clock.cart_since
    and customers.open_cart_at <= clock.as_of
    and (customers.email is not null or customers.phone is not null)
    and not exists (
        select 1
        from {{ ref('customer_purchases') }} as purchases
        where purchases.customer_id = customers.customer_id
            and purchases.ordered_at >= customers.open_cart_at
    )
