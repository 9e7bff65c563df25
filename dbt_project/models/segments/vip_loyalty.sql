-- VIP loyalty: active best customers: in the top spending quintile (rfm_monetary 5), ordering
-- often (rfm_frequency 4-5) and still recently (rfm_recency 3-5).
-- Platinum: top quintile on frequency too; the rest gold.
-- Money is rounded to cents: a float sum that differs in the last digit is not a change to sync.

select
    {{ segment_contact_columns('customers') }},
    customers.orders_total,
    customers.orders_online,
    customers.orders_in_store,
    customers.first_order_at as customer_since,
    customers.last_order_at,
    customers.rfm_segment,
    case
        when customers.rfm_frequency = 5 and customers.rfm_monetary = 5 then 'platinum'
        else 'gold'
    end as vip_tier,
    {{ round_half_up('customers.revenue', 2) }} as lifetime_revenue,
    {{ round_half_up('customers.average_order_value', 2) }} as average_order_value,
    'RFM ' || cast(customers.rfm_recency as {{ dbt.type_string() }})
    || cast(customers.rfm_frequency as {{ dbt.type_string() }})
    || cast(customers.rfm_monetary as {{ dbt.type_string() }})
    || ': ' || cast(customers.orders_total as {{ dbt.type_string() }}) || ' orders' as why_in_segment
from {{ ref('customer_360') }} as customers
where
    customers.rfm_recency >= 3
    and customers.rfm_frequency >= 4
    and customers.rfm_monetary = 5
    and (customers.email is not null or customers.phone is not null)
