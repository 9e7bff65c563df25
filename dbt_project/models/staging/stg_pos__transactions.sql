-- Identity input: one row per in-store transaction that carries an identifier (loyalty
-- card, or an email or phone typed by the cashier). Anonymous cash sales are not persons.
{{ config(enabled=model_enabled(model.name)) }}
with lines as (
    select * from {{ ref('stg_pos__transaction_lines') }}
),

stores as (
    select * from {{ ref('pos_stores') }}
),

transactions as (
    select
        transaction_id,
        max(store_id) as store_id,
        min(occurred_at) as occurred_at,
        max(loyalty_card) as loyalty_card,
        max(email_text) as email_text,
        max(phone_text) as phone_text,
        count(*) as line_count,
        sum(line_revenue) as revenue
    from lines
    group by transaction_id
),

renamed as (
    select
        transactions.transaction_id,
        transactions.store_id,
        transactions.loyalty_card,
        transactions.line_count,
        transactions.revenue,
        transactions.email_text,
        transactions.phone_text,
        {{ absent_identity_texts(present=['email_text', 'phone_text', 'country_text']) }},
        -- a phone typed at the till is national to the store's country
        stores.country_code as country_text,
        transactions.occurred_at
    from transactions
    left join stores on transactions.store_id = stores.store_id
    where
        transactions.loyalty_card is not null
        or transactions.email_text is not null
        or transactions.phone_text is not null
),

final as (
    select
        'pos' as source,
        transaction_id as source_record_id,
        'first' as party,
        {{ person_identity_columns() }},
        occurred_at as observed_at,
        transaction_id,
        store_id,
        loyalty_card,
        line_count,
        revenue
    from renamed
)

select * from final
