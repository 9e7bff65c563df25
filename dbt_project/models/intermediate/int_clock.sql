-- One row: the "now" every recency window counts back from (customer_360, int_customer__cart
-- and every segment cross join it), and the start of each window, all set here by dbt vars:
--   as_of                  default: the newest event (a universe generated in the past still has open carts)
--   recent_days            "browsing recently", an open cart that still makes an acquisition
--   email_engagement_days  email opens and clicks that count
--   lapsed_after_days      no order for this long = lapsed (customer_360's lifecycle_stage)
--   cart_abandoned_hours   how fresh an abandoned cart must be (segment cart_abandoners)
--   win_back_after_days    no order for this long = time to win them back (earlier than lapsed)
{%- set as_of = var('as_of', none) %}

with events as (
    select occurred_at from {{ ref('customer_events') }}
),

now as (
    select
        coalesce(
            {% if as_of %}cast('{{ as_of }}' as {{ dbt.type_timestamp() }}){% else %}null{% endif %},
            max(occurred_at)
        ) as as_of
    from events
),

final as (
    select
        as_of,
        {{ dbt.dateadd('day', -var('recent_days'), 'as_of') }} as recent_since,
        {{ dbt.dateadd('day', -var('email_engagement_days'), 'as_of') }} as email_engagement_since,
        {{ dbt.dateadd('day', -var('lapsed_after_days'), 'as_of') }} as lapsed_before,
        {{ dbt.dateadd('hour', -var('cart_abandoned_hours'), 'as_of') }} as cart_since,
        {{ dbt.dateadd('day', -var('win_back_after_days'), 'as_of') }} as win_back_before
    from now
)

select * from final
