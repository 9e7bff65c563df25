-- Lapsed high value (win-back): customers in the top two spending quintiles (rfm_monetary 4-5)
-- who have not ordered, online or in store, for 90 days (dbt var win_back_after_days).
-- The win-back offer uses the category they spent most on.

with gone_quiet as (
    select
        customers.customer_id,
        {{ boundaries_between('day', 'customers.last_order_at', 'clock.as_of') }} as days_since_last_order
    from {{ ref('customer_360') }} as customers
    cross join {{ ref('int_clock') }} as clock
    where
        customers.rfm_monetary >= 4
        and customers.last_order_at < clock.win_back_before
),

category_spend as (
    select
        customer_id,
        category,
        row_number() over (
            partition by customer_id order by sum(revenue) desc, category
        ) as spend_rank
    from {{ ref('customer_purchases') }}
    where category is not null
    group by customer_id, category
)

select
    {{ segment_contact_columns('customers') }},
    customers.orders_total,
    customers.last_order_at,
    quiet.days_since_last_order,
    favourite.category as favourite_category,
    customers.rfm_segment,
    {{ round_half_up('customers.revenue', 2) }} as lifetime_revenue,
    {{ round_half_up('customers.average_order_value', 2) }} as average_order_value,
    'spent ' || cast(cast({{ round_half_up('customers.revenue', 0) }} as {{ dbt.type_int() }}) as {{ dbt.type_string() }})
    || ' over ' || cast(customers.orders_total as {{ dbt.type_string() }})
    || ' orders, last order ' || cast(quiet.days_since_last_order as {{ dbt.type_string() }})
    || ' days ago' as why_in_segment
from gone_quiet as quiet
inner join {{ ref('customer_360') }} as customers
    on quiet.customer_id = customers.customer_id
left join category_spend as favourite
    on
        quiet.customer_id = favourite.customer_id
        and favourite.spend_rank = 1
where customers.email is not null or customers.phone is not null
