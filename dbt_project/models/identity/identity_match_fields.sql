-- The extra columns identity inputs offer for matching, one row per (record, field, value):
-- the columns each staging model lists in meta.match_fields with their comparison kind,
-- unpivoted. Identity resolution compares each field as its kind says (an id number with
-- typos, a second address line as text), across every source that has it.
{{ identity_input_refs() }}
{%- set parts = [] %}
{%- for node in identity_input_models() %}
    {%- for column, kind in identity_match_field_columns(node).items() %}
        {%- do parts.append((node, column, {'field': column, 'kind': kind})) %}
    {%- endfor %}
{%- endfor %}
{{ unpivot_identity_columns(parts, ['field', 'kind'], 'value') }}
