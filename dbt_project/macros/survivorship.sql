{#
  Golden-record survivorship, as a window over a customer's source records: the value of
  the record that has one (`present` not null), from the most trusted source (seed
  source_trust), then the most recently observed, then a stable tie-break.
  Fields that belong together (first and last name; the address block) share `present`,
  so they come from one record and never mix two addresses.
#}
{% macro survivor(value, present=none) -%}
    first_value({{ value }}) over (
        partition by customer_id
        order by
            case when {{ present or value }} is null then 1 else 0 end,
            trust_rank,
            observed_at desc nulls last,
            source,
            source_record_id
        rows between unbounded preceding and unbounded following
    )
{%- endmacro %}
