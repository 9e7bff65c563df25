-- Event input: one row per website visit event (visits_*.jsonl) of a signed-in member.
-- `source` and `source_record_id` name the identity record the event belongs to (the
-- member), so marts.customer_events attributes it to that member's customer.
{{ config(enabled=model_enabled(model.name)) }}
with source as (
    select * from {{ source('raw_visits', 'events') }}
),

final as (
    select
        'members' as source,
        nullif(trim(cast(member_id as {{ dbt.type_string() }})), '') as source_record_id,
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        {{ utc_timestamp('occurred_at') }} as occurred_at,
        lower(trim(cast(event_type as {{ dbt.type_string() }}))) as event_type,
        cast(null as {{ dbt.type_string() }}) as product_id,
        nullif(lower(trim(cast(category as {{ dbt.type_string() }}))), '') as category
    from source
)

select * from final
