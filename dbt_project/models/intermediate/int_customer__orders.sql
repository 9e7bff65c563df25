-- One row per customer who bought: orders online and in store, revenue, first and last
-- order, categories bought (from customer_purchases, one row per purchased line).

with purchases as (
    select * from {{ ref('customer_purchases') }}
),

final as (
    select
        customer_id,
        count(distinct case when channel = 'online' then order_id end) as orders_online,
        count(distinct case when channel = 'in_store' then order_id end) as orders_in_store,
        count(distinct channel || ':' || order_id) as orders_total,
        -- rounded to cents: a float sum's last digits vary with row order from build to
        -- build, and syncs must not see a change where there is none
        {{ round_half_up('sum(revenue)', 2) }} as revenue,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        {{ distinct_list('category') }} as categories_purchased
    from purchases
    group by customer_id
)

select * from final
