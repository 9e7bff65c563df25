-- The strong identifiers of every identity input, one row per (record, id type, value):
-- the columns each staging model lists in meta.strong_ids, unpivoted. Records sharing a
-- strong id (a web visitor's user_id and a shop customer's user_id) are the same person.
{{ identity_input_refs() }}
{%- set parts = [] %}
{%- for node in identity_input_models() %}
    {%- for id_column in identity_strong_id_columns(node) %}
        {%- do parts.append((node, id_column, {'id_type': id_column})) %}
    {%- endfor %}
{%- endfor %}
{{ unpivot_identity_columns(parts, ['id_type'], 'id_value') }}
