{# The contact columns every segment starts with, in the same order, so marketers and the
   sync field mappings see one shape. `relation` is the customer_360 alias in the model. #}
{% macro segment_contact_columns(relation='customers') -%}
    {{ relation }}.customer_id,
    {{ relation }}.first_name,
    {{ relation }}.last_name,
    {{ relation }}.email,
    {{ relation }}.phone,
    {{ relation }}.country
{%- endmacro %}
