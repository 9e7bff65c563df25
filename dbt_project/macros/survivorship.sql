{#
  Golden-record survivorship, as an aggregate over a customer's source records (grouped by
  customer_id): the value of the best-ranked record that has one (`present` not null).
  Records are ranked once in `survivorship_rank` (most trusted source in seed source_trust
  first, then the most recently observed, then a stable tie-break), see customer_360.
  Fields that belong together (first and last name; the address block) share `present`,
  so they come from one record and never mix two addresses.
#}
{% macro survivor(value, present=none) -%}
    min_by({{ value }}, survivorship_rank) filter (where {{ present or value }} is not null)
{%- endmacro %}

{# The rank `survivor` reads: 1 = the record whose values win. #}
{% macro survivorship_rank() -%}
    row_number() over (
        partition by customer_id
        order by trust_rank, observed_at desc nulls last, source, source_record_id
    )
{%- endmacro %}
