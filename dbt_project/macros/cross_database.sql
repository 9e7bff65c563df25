{#
  Cross-database building blocks. Models never call engine-specific functions directly:
  each block dispatches to `duckdb__...` (the embedded default) or `default__...`
  (Spark SQL, the first distributed target), so the same models run on both.
#}

{# Lower-case hex SHA-256 of a string. #}
{% macro sha256_hex(expression) -%}
    {{ return(adapter.dispatch('sha256_hex', 'cdp')(expression)) }}
{%- endmacro %}
{% macro duckdb__sha256_hex(expression) -%} sha256({{ expression }}) {%- endmacro %}
{% macro default__sha256_hex(expression) -%} sha2({{ expression }}, 256) {%- endmacro %}

{# True when the string matches the regular expression (anywhere, unless anchored). #}
{% macro regex_matches(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_matches', 'cdp')(expression, pattern)) }}
{%- endmacro %}
{% macro duckdb__regex_matches(expression, pattern) -%} regexp_matches({{ expression }}, {{ pattern }}) {%- endmacro %}
{% macro default__regex_matches(expression, pattern) -%} ({{ expression }} rlike {{ pattern }}) {%- endmacro %}

{# Replace every match (DuckDB replaces only the first without the 'g' flag). #}
{% macro regex_replace_all(expression, pattern, replacement) -%}
    {{ return(adapter.dispatch('regex_replace_all', 'cdp')(expression, pattern, replacement)) }}
{%- endmacro %}
{% macro duckdb__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, {{ pattern }}, {{ replacement }}, 'g')
{%- endmacro %}
{% macro default__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, {{ pattern }}, {{ replacement }})
{%- endmacro %}

{# Lower case without accents (é -> e, ü -> u): the form names and places are matched in. #}
{% macro strip_accents_lower(expression) -%}
    {{ return(adapter.dispatch('strip_accents_lower', 'cdp')(expression)) }}
{%- endmacro %}
{# strip_accents leaves letters that are not accented forms (ß, æ, ø, ł): spelled out first. #}
{% macro duckdb__strip_accents_lower(expression) -%}
    strip_accents(replace(replace(replace(replace(lower({{ expression }}), 'ß', 'ss'), 'æ', 'ae'), 'ø', 'o'), 'ł', 'l'))
{%- endmacro %}
{% macro default__strip_accents_lower(expression) -%}
    translate(
        replace(replace(lower({{ expression }}), 'ß', 'ss'), 'æ', 'ae'),
        'áàâäãåāçćčéèêëēėęíìîïīñńóòôöõøōłśšúùûüūýÿžźż', 'aaaaaaaccceeeeeeeiiiiinnooooooolssuuuuuyyzzz')
{%- endmacro %}

{# A phone number in E.164, null when not a valid number (the phonenumbers library). #}
{% macro phone_e164(expression, region) -%}
    {{ return(adapter.dispatch('phone_e164', 'cdp')(expression, region)) }}
{%- endmacro %}
{# cdp_phone_e164 is registered by the cdp.dbt_plugin dbt-duckdb plugin (profiles.yml). #}
{% macro duckdb__phone_e164(expression, region) -%} cdp_phone_e164({{ expression }}, {{ region }}) {%- endmacro %}
{# On Spark, register the same Python function as a UDF named cdp_phone_e164 (cdp.identifiers.phone_e164). #}
{% macro default__phone_e164(expression, region) -%} cdp_phone_e164({{ expression }}, {{ region }}) {%- endmacro %}

{# Parse a text date in the formats sources use; null when it is not a date. #}
{% macro parse_date(expression) -%}
    {{ return(adapter.dispatch('parse_date', 'cdp')(expression)) }}
{%- endmacro %}
{% macro duckdb__parse_date(expression) -%}
    coalesce(
        try_cast(cast({{ expression }} as varchar) as date),
        cast(try_strptime(cast({{ expression }} as varchar), ['%d-%m-%Y', '%d/%m/%Y', '%d.%m.%Y', '%Y/%m/%d', '%Y%m%d']) as date)
    )
{%- endmacro %}
{% macro default__parse_date(expression) -%}
    coalesce(
        to_date(cast({{ expression }} as string), 'yyyy-MM-dd'),
        to_date(cast({{ expression }} as string), 'dd-MM-yyyy'),
        to_date(cast({{ expression }} as string), 'dd/MM/yyyy'),
        to_date(cast({{ expression }} as string), 'dd.MM.yyyy'),
        to_date(cast({{ expression }} as string), 'yyyy/MM/dd')
    )
{%- endmacro %}

{# A timestamp (text with or without offset, or a timestamp) as a UTC timestamp without zone; null when unparsable. #}
{% macro utc_timestamp(expression) -%}
    {{ return(adapter.dispatch('utc_timestamp', 'cdp')(expression)) }}
{%- endmacro %}
{# The profile pins the session TimeZone to UTC, so the cast to timestamp gives UTC wall time. #}
{% macro duckdb__utc_timestamp(expression) -%} cast(try_cast({{ expression }} as timestamptz) as timestamp) {%- endmacro %}
{% macro default__utc_timestamp(expression) -%} to_utc_timestamp(cast({{ expression }} as timestamp), 'UTC') {%- endmacro %}

{# Sorted list of the distinct non-null values in a group. #}
{% macro distinct_list(expression) -%}
    {{ return(adapter.dispatch('distinct_list', 'cdp')(expression)) }}
{%- endmacro %}
{% macro duckdb__distinct_list(expression) -%}
    coalesce(list(distinct {{ expression }} order by {{ expression }}) filter (where {{ expression }} is not null), [])
{%- endmacro %}
{% macro default__distinct_list(expression) -%} array_sort(collect_set({{ expression }})) {%- endmacro %}

{# A delimited string as a list of trimmed, non-empty items. #}
{% macro split_to_list(expression, delimiter) -%}
    {{ return(adapter.dispatch('split_to_list', 'cdp')(expression, delimiter)) }}
{%- endmacro %}
{% macro duckdb__split_to_list(expression, delimiter) -%}
    list_filter(list_transform(string_split({{ expression }}, {{ delimiter }}), item -> trim(item)), item -> item <> '')
{%- endmacro %}
{% macro default__split_to_list(expression, delimiter) -%}
    filter(transform(split({{ expression }}, {{ delimiter }}), item -> trim(item)), item -> item <> '')
{%- endmacro %}

{# The distinct union of a group's lists (e.g. interests over several records). #}
{% macro distinct_list_of_lists(expression) -%}
    {{ return(adapter.dispatch('distinct_list_of_lists', 'cdp')(expression)) }}
{%- endmacro %}
{% macro duckdb__distinct_list_of_lists(expression) -%}
    list_sort(list_distinct(flatten(list({{ expression }}) filter (where {{ expression }} is not null))))
{%- endmacro %}
{% macro default__distinct_list_of_lists(expression) -%} array_sort(array_distinct(flatten(collect_list({{ expression }})))) {%- endmacro %}

{# An empty list of strings. #}
{% macro empty_list() -%}
    {{ return(adapter.dispatch('empty_list', 'cdp')()) }}
{%- endmacro %}
{% macro duckdb__empty_list() -%} cast([] as varchar[]) {%- endmacro %}
{% macro default__empty_list() -%} cast(array() as array<string>) {%- endmacro %}
