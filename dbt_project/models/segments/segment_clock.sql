-- One row: the "now" every segment counts back from, and the start of each window.
-- Segments cross join it, so all windows are set here, once, by dbt vars:
--   as_of                 default: the newest event (a universe generated in the past still has open carts)
--   recent_days           default 30: "browsing recently"
--   cart_abandoned_hours  default 72: how fresh an abandoned cart must be
--   win_back_after_days   default 90: no order for this long = time to win them back (customer_360
--                         calls them lapsed only at lapsed_after_days, 180: win-back starts earlier)
-- Ephemeral: no table of its own, not a sync, not an asset.
{{ config(materialized='ephemeral') }}

{%- set as_of = var('as_of', none) %}

with now as (
    select
        coalesce(
            {% if as_of %}cast('{{ as_of }}' as {{ dbt.type_timestamp() }}){% else %}null{% endif %},
            max(occurred_at)
        ) as as_of
    from {{ ref('customer_events') }}
)

select
    as_of,
    {{ dbt.dateadd('day', -var('recent_days', 30), 'as_of') }} as recent_since,
    {{ dbt.dateadd('hour', -var('cart_abandoned_hours', 72), 'as_of') }} as cart_since,
    {{ dbt.dateadd('day', -var('win_back_after_days', 90), 'as_of') }} as win_back_before
from now
