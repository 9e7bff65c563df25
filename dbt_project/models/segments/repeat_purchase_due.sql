-- Repeat purchase due: customers with two or more orders whose usual time between orders
-- has passed since their last one, but not twice over (by then they are lapsing, not due).
-- The reminder names the last product they bought.

with order_rhythm as (
    select
        customers.customer_id,
        customers.orders_total,
        customers.last_order_at,
        cast({{ boundaries_between('day', 'customers.first_order_at', 'customers.last_order_at') }} as double)
        / (customers.orders_total - 1) as typical_days_between_orders,
        {{ boundaries_between('day', 'customers.last_order_at', 'clock.as_of') }} as days_since_last_order
    from {{ ref('customer_360') }} as customers
    cross join {{ ref('int_clock') }} as clock
    where
        customers.orders_total >= 2
        and customers.last_order_at <= clock.as_of
),

last_product_bought as (
    select
        customer_id,
        product_id,
        product_name,
        category
    from (
        select
            customer_id,
            product_id,
            product_name,
            category,
            row_number() over (
                partition by customer_id order by ordered_at desc, revenue desc, product_id asc
            ) as recency_rank
        from {{ ref('customer_purchases') }}
    ) as ranked
    where recency_rank = 1
)

select
    {{ segment_contact_columns('customers') }},
    rhythm.orders_total,
    rhythm.last_order_at,
    rhythm.days_since_last_order,
    last_bought.product_id as last_product_id,
    last_bought.product_name as last_product_name,
    last_bought.category as last_product_category,
    {{ round_half_up('rhythm.typical_days_between_orders', 1) }} as typical_days_between_orders,
    'ordered every ' || cast(cast({{ round_half_up('rhythm.typical_days_between_orders', 0) }} as {{ dbt.type_int() }}) as {{ dbt.type_string() }})
    || ' days on average, last order ' || cast(rhythm.days_since_last_order as {{ dbt.type_string() }})
    || ' days ago' as why_in_segment
from order_rhythm as rhythm
inner join {{ ref('customer_360') }} as customers
    on rhythm.customer_id = customers.customer_id
left join last_product_bought as last_bought
    on rhythm.customer_id = last_bought.customer_id
where
    rhythm.typical_days_between_orders >= 1
    and rhythm.days_since_last_order >= rhythm.typical_days_between_orders
    and rhythm.days_since_last_order < 2 * rhythm.typical_days_between_orders
    and (customers.email is not null or customers.phone is not null)
