{#
  Standardisation shared by every staging model, so a field is cleaned the same way
  whichever source it comes from. Each rule is defined in cdp/identifiers.py (the one home
  for identifier rules, which the phone UDF, the identity step and the destinations call);
  these macros are its SQL, checked equal to it by the property tests in tests/test_identifiers.py. Each returns an expression; the `*_is_invalid` flags
  mark a value that was present but could not be parsed (it becomes null, the row stays).
#}

{# Whitespace for regexes, written so DuckDB (RE2) and Spark (Java, escapes in literals) agree. #}
{% macro whitespace_class() -%} [ \t\r\n] {%- endmacro %}

{% macro is_blank(expression) -%}
    ({{ expression }} is null or trim(cast({{ expression }} as {{ dbt.type_string() }})) = '')
{%- endmacro %}

{# Trimmed text, whitespace runs collapsed; blank -> null. For display forms. #}
{% macro clean_text(expression) -%}
    nullif(trim({{ regex_replace_all(expression, "'" ~ whitespace_class() ~ "+'", "' '") }}), '')
{%- endmacro %}

{# Matching form: lower case, accents folded, punctuation dropped, single spaces; blank -> null. #}
{% macro fold_text(expression) -%}
    nullif(trim({{ regex_replace_all(
        regex_replace_all(strip_accents_lower(expression), "'[^a-z0-9 ]'", "''"),
        "'" ~ whitespace_class() ~ "+'", "' '") }}), '')
{%- endmacro %}

{# Email lower/trim; null unless it looks like local@domain.tld. #}
{% macro normalise_email(expression) -%}
    case
        when {{ regex_matches('lower(trim(' ~ expression ~ '))', "'^[^@ \\t]+@[^@ \\t]+[.][a-z]{2,}$'") }}
            then lower(trim({{ expression }}))
    end
{%- endmacro %}

{# Postcode compact and upper case (1011 ab -> 1011AB), checked against the country's pattern
   from the country_codes seed; kept unchecked when the country is not in the seed. Postcodes are
   ASCII letters and digits everywhere: anything else is not one. The rule is
   cdp.identifiers.normalise_postcode; tests/test_identifiers.py checks the two agree. #}
{% macro normalise_postcode(expression, pattern) -%}
    case
        when {{ regex_matches(unseparated_postcode(expression), "'^[A-Za-z0-9]*$'") }}
            and ({{ pattern }} is null or {{ regex_matches('upper(' ~ unseparated_postcode(expression) ~ ')', pattern) }})
            then nullif(upper({{ unseparated_postcode(expression) }}), '')
    end
{%- endmacro %}

{% macro unseparated_postcode(expression) -%}
    {{ regex_replace_all(expression, "'[ \\t.-]'", "''") }}
{%- endmacro %}

{#
  The identity columns of the contract (see models/identity/README.md), computed from a
  CTE that has the source's values under these names:
    email_text, phone_text, first_name_text, last_name_text, date_of_birth_text,
    address_text, postcode_text, city_text, country_text
  and `postcode_pattern` (from the country_codes seed, null when unknown).
  Emits the matching forms, the display forms and the *_is_invalid flags.
#}
{#- The raw text columns person_identity_columns() reads. A source lacking some declares
    only the ones it has: `{{ absent_identity_texts(present=['email_text']) }},` adds
    the rest as typed nulls. -#}
{% macro absent_identity_texts(present=[]) -%}
    {%- for name in ['email_text', 'phone_text', 'first_name_text', 'last_name_text', 'date_of_birth_text',
                     'address_text', 'postcode_text', 'city_text', 'country_text', 'postcode_pattern']
        if name not in present %}
        cast(null as {{ dbt.type_string() }}) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{% macro person_identity_columns(email_sha256_text=none) -%}
        {%- set email = normalise_email('email_text') %}
        {%- set phone = phone_e164('phone_text', "coalesce(upper(trim(country_text)), '" ~ var('phone_regions') ~ "')") %}
        {%- set date_of_birth = parse_date('date_of_birth_text') %}
        {%- set postcode = normalise_postcode('postcode_text', 'postcode_pattern') %}
        {{ email }} as email,
        {% if email_sha256_text is none -%}
        {{ sha256_hex(email) }} as email_sha256,
        {%- else -%}
        case when {{ regex_matches('lower(trim(' ~ email_sha256_text ~ '))', "'^[0-9a-f]{64}$'") }}
            then lower(trim({{ email_sha256_text }})) end as email_sha256,
        {%- endif %}
        {{ phone }} as phone,
        {{ fold_text('first_name_text') }} as first_name,
        {{ fold_text('last_name_text') }} as last_name,
        {{ clean_text('first_name_text') }} as first_name_display,
        {{ clean_text('last_name_text') }} as last_name_display,
        case
            when {{ date_of_birth }} between cast('1900-01-01' as date) and current_date then {{ date_of_birth }}
        end as date_of_birth,
        {{ fold_text('address_text') }} as address,
        {{ clean_text('address_text') }} as address_display,
        {{ postcode }} as postcode,
        {{ fold_text('city_text') }} as city,
        {{ clean_text('city_text') }} as city_display,
        nullif(upper(trim(country_text)), '') as country,
        not {{ is_blank('email_text') }} and {{ email }} is null as email_is_invalid,
        not {{ is_blank('phone_text') }} and {{ phone }} is null as phone_is_invalid,
        not {{ is_blank('date_of_birth_text') }}
            and coalesce({{ date_of_birth }} not between cast('1900-01-01' as date) and current_date, true)
            as date_of_birth_is_invalid,
        not {{ is_blank('postcode_text') }} and {{ postcode }} is null as postcode_is_invalid
{%- endmacro %}
