-- Identity input: one row per in-store transaction that carries an identifier (loyalty
-- card, or an email or phone typed by the cashier). Anonymous cash sales are not persons.
-- Incremental: rebuilt for the keys with rows loaded since the last build, from all their rows.
{{ config(
    enabled=model_enabled(model.name),
    materialized=incremental_materialization(),
    unique_key='transaction_id',
    incremental_strategy='delete+insert',
) }}
{%- set watermark = load_watermark() %}
with lines as (
    select * from {{ ref('stg_pos__transaction_lines') }}
    where {{ keys_loaded_since(ref('stg_pos__transaction_lines'), 'transaction_id', watermark) }}
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
        -- rounded to cents: a float sum's last digits vary with the order rows are read in
        {{ round_half_up('sum(line_revenue)', 2) }} as revenue,
        max(_dlt_load_id) as _dlt_load_id
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
        transactions.occurred_at,
        transactions._dlt_load_id
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
        revenue,
        _dlt_load_id
    from renamed
)

select * from final
