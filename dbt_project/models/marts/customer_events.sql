-- One timeline over every source, per customer. Events are attributed through the record
-- that produced them (a web cookie, an app device, a shop account, a till transaction, an
-- email subscriber, an ERP account, a partner response), so the anonymous events of a
-- cookie follow the person as soon as that cookie is stitched to them. A demo source that
-- is switched off contributes no rows (staging_or_empty); a model whose YAML declares
-- `meta: {event_input: true}` (the var cdp_event_inputs) adds its events as they are.
-- Incremental: rebuilt only for the customers whose events would change (macros/incremental.sql).
{{ config(
    materialized=incremental_materialization(),
    unique_key='customer_id',
    incremental_strategy='replace_customers',
    row_column='event_id',
    on_schema_change='fail',
) }}

with identities as (
    select * from {{ ref('customer_identities') }}
),

subscriber_per_email as (
    -- email events carry only the address: attribute them to one subscriber record
    select
        email,
        min(subscriber_id) as subscriber_id
    from {{ staging_or_empty('stg_email__subscribers', {'email': 'string', 'subscriber_id': 'string'}) }}
    where email is not null
    group by email
),

source_events as (
    select
        'web' as source,
        event_id,
        anonymous_id as source_record_id,
        occurred_at,
        event_type,
        product_id,
        category
    from {{ staging_or_empty('stg_web__events', {
        'event_id': 'string', 'anonymous_id': 'string', 'occurred_at': 'timestamp',
        'event_type': 'string', 'product_id': 'string', 'category': 'string',
    }) }}

    union all

    select
        'app' as source,
        event_id,
        device_id as source_record_id,
        occurred_at,
        event_type,
        product_id,
        category
    from {{ staging_or_empty('stg_app__events', {
        'event_id': 'string', 'device_id': 'string', 'occurred_at': 'timestamp',
        'event_type': 'string', 'product_id': 'string', 'category': 'string',
    }) }}

    union all

    select
        'shop' as source,
        order_id as event_id,
        customer_id as source_record_id,
        ordered_at as occurred_at,
        'order_' || status as event_type,
        cast(null as {{ dbt.type_string() }}) as product_id,
        cast(null as {{ dbt.type_string() }}) as category
    from {{ staging_or_empty('stg_shop__orders', {
        'order_id': 'string', 'customer_id': 'string', 'ordered_at': 'timestamp', 'status': 'string',
    }) }}

    union all

    select
        'pos' as source,
        transaction_id || '-' || cast(line_no as {{ dbt.type_string() }}) as event_id,
        transaction_id as source_record_id,
        occurred_at,
        'in_store_purchase' as event_type,
        product_id,
        cast(null as {{ dbt.type_string() }}) as category
    from {{ staging_or_empty('stg_pos__transaction_lines', {
        'transaction_id': 'string', 'line_no': 'integer', 'occurred_at': 'timestamp', 'product_id': 'string',
    }) }}

    union all

    select
        'email' as source,
        events.event_id,
        subscribers.subscriber_id as source_record_id,
        events.occurred_at,
        'email_' || events.event_type as event_type,
        cast(null as {{ dbt.type_string() }}) as product_id,
        cast(null as {{ dbt.type_string() }}) as category
    from {{ staging_or_empty('stg_email__events', {
        'event_id': 'string', 'occurred_at': 'timestamp', 'event_type': 'string', 'email': 'string',
    }) }} as events
    inner join subscriber_per_email as subscribers
        on events.email = subscribers.email

    union all

    select
        'erp' as source,
        invoice_id as event_id,
        account_number as source_record_id,
        issued_at as occurred_at,
        document_type as event_type,
        cast(null as {{ dbt.type_string() }}) as product_id,
        cast(null as {{ dbt.type_string() }}) as category
    from {{ staging_or_empty('stg_erp__invoices', {
        'invoice_id': 'string', 'account_number': 'string', 'issued_at': 'timestamp', 'document_type': 'string',
    }) }}

    union all

    select
        'partner' as source,
        response_id as event_id,
        response_id as source_record_id,
        responded_at as occurred_at,
        'partner_' || response as event_type,
        cast(null as {{ dbt.type_string() }}) as product_id,
        interest as category
    from {{ staging_or_empty('stg_partner__responses', {
        'response_id': 'string', 'responded_at': 'timestamp', 'response': 'string', 'interest': 'string',
    }) }}
    {%- for name in var('cdp_event_inputs', []) %}

    union all

    select
        source,
        event_id,
        source_record_id,
        occurred_at,
        event_type,
        product_id,
        category
    from {{ ref(name) }}
    {%- endfor %}
),

products as (
    select * from {{ staging_or_empty('stg_shop__products', {'product_id': 'string', 'category': 'string'}) }}
),

timeline as (
    select
        identities.customer_id,
        source_events.occurred_at,
        source_events.source,
        source_events.event_type,
        source_events.product_id,
        source_events.source_record_id,
        source_events.source || ':' || source_events.event_id as event_id,
        coalesce(source_events.category, products.category) as category
    from source_events
    inner join identities
        on
            source_events.source = identities.source
            and source_events.source_record_id = identities.source_record_id
    left join products
        on source_events.product_id = products.product_id
    where source_events.occurred_at is not null
),
{%- if incremental_build() %}

rebuilt_customers as (
    {{ customers_to_rebuild('timeline') }}
),
{%- endif %}

final as (
    {{ only_rebuilt_customers('timeline') }}
)

select * from final
