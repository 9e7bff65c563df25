-- One row per purchased line, online (shop orders) and in store (till transactions that
-- carry a loyalty card, email or phone), attributed to the resolved customer.
-- Incremental: rebuilt only for the customers whose purchases would change (macros/incremental.sql).
{{ config(
    materialized=incremental_materialization(),
    unique_key='customer_id',
    incremental_strategy='replace_customers',
    row_column='order_id',
    on_schema_change='fail',
) }}

with identities as (
    select * from {{ ref('customer_identities') }}
),

orders as (
    select * from {{ staging_or_empty('stg_shop__orders', {
        'order_id': 'string', 'customer_id': 'string', 'ordered_at': 'timestamp', 'is_purchase': 'boolean',
    }) }}
    where is_purchase
),

order_items as (
    select * from {{ staging_or_empty('stg_shop__order_items', {
        'order_id': 'string', 'product_id': 'string', 'quantity': 'integer', 'line_revenue': 'double',
    }) }}
),

pos_lines as (
    select * from {{ staging_or_empty('stg_pos__transaction_lines', {
        'transaction_id': 'string', 'occurred_at': 'timestamp', 'product_id': 'string',
        'quantity': 'integer', 'line_revenue': 'double',
    }) }}
),

products as (
    select * from {{ staging_or_empty('stg_shop__products', {
        'product_id': 'string', 'product_name': 'string', 'category': 'string',
    }) }}
),

online as (
    select
        identities.customer_id,
        orders.order_id,
        'online' as channel,
        orders.ordered_at,
        order_items.product_id,
        order_items.quantity,
        order_items.line_revenue as revenue
    from orders
    inner join order_items
        on orders.order_id = order_items.order_id
    inner join identities
        on
            identities.source = 'shop'
            and orders.customer_id = identities.source_record_id
),

in_store as (
    select
        identities.customer_id,
        pos_lines.transaction_id as order_id,
        'in_store' as channel,
        pos_lines.occurred_at as ordered_at,
        pos_lines.product_id,
        pos_lines.quantity,
        pos_lines.line_revenue as revenue
    from pos_lines
    inner join identities
        on
            identities.source = 'pos'
            and pos_lines.transaction_id = identities.source_record_id
),

purchased_lines as (
    select * from online
    union all
    select * from in_store
),

purchases as (
    select
        purchased_lines.customer_id,
        purchased_lines.order_id,
        purchased_lines.channel,
        purchased_lines.ordered_at,
        purchased_lines.product_id,
        products.product_name,
        products.category,
        purchased_lines.quantity,
        purchased_lines.revenue
    from purchased_lines
    left join products
        on purchased_lines.product_id = products.product_id
),
{%- if incremental_build() %}

rebuilt_customers as (
    {{ customers_to_rebuild('purchases') }}
),
{%- endif %}

final as (
    {{ only_rebuilt_customers('purchases') }}
)

select * from final
