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
{# Spark has no accent folding: cdp.identifiers.strip_accents_lower as a UDF (cdp.spark registers it). #}
{% macro default__strip_accents_lower(expression) -%} cdp_strip_accents_lower({{ expression }}) {%- endmacro %}

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
{# What DuckDB reads: an ISO date with one- or two-digit month and day, alone or followed by
   a time; else one of the formats above. Spark's cast would also take '1985' and '1985-07'
   (as 1 January, 1 July): the pattern keeps them out. Single pattern letters take one or
   two digits, as DuckDB's strptime does. #}
{% macro default__parse_date(expression) -%}
    {%- set text = 'trim(cast(' ~ expression ~ ' as string))' -%}
    coalesce(
        case when {{ text }} rlike '^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([ T][0-9:. +-]*)?$' then cast({{ text }} as date) end,
        case when {{ text }} rlike '^[0-9]{1,2}-[0-9]{1,2}-[0-9]{4}$' then to_date({{ text }}, 'd-M-yyyy') end,
        case when {{ text }} rlike '^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}$' then to_date({{ text }}, 'd/M/yyyy') end,
        case when {{ text }} rlike '^[0-9]{1,2}[.][0-9]{1,2}[.][0-9]{4}$' then to_date({{ text }}, 'd.M.yyyy') end,
        case when {{ text }} rlike '^[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}$' then to_date({{ text }}, 'yyyy/M/d') end,
        case when {{ text }} rlike '^[0-9]{8}$' then to_date({{ text }}, 'yyyyMMdd') end
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

{# A 64-bit hash of a whole row of `relation` (its alias in the query) and further expressions. #}
{% macro row_hash(relation, more=[]) -%}
    {{ return(adapter.dispatch('row_hash', 'cdp')(relation, more)) }}
{%- endmacro %}
{# a table alias in DuckDB is its row as a struct #}
{% macro duckdb__row_hash(relation, more) -%} hash({{ ([relation] + more) | join(', ') }}) {%- endmacro %}
{% macro default__row_hash(relation, more) -%} xxhash64({{ ([relation ~ '.*'] + more) | join(', ') }}) {%- endmacro %}

{# Calendar boundaries (days or hours) crossed from `start` to `end`, as DuckDB's date_diff
   counts them, a bigint on every engine (dbt.datediff rounds hours up on Spark). #}
{% macro boundaries_between(unit, start, end) -%}
    {{ return(adapter.dispatch('boundaries_between', 'cdp')(unit, start, end)) }}
{%- endmacro %}
{% macro duckdb__boundaries_between(unit, start, end) -%} date_diff('{{ unit }}', {{ start }}, {{ end }}) {%- endmacro %}
{% macro default__boundaries_between(unit, start, end) -%}
    {%- if unit == 'day' -%}
    cast(datediff(cast({{ end }} as date), cast({{ start }} as date)) as bigint)
    {%- elif unit == 'hour' -%}
    cast((unix_timestamp(date_trunc('hour', {{ end }})) - unix_timestamp(date_trunc('hour', {{ start }}))) / 3600 as bigint)
    {%- else -%}
    {{ exceptions.raise_compiler_error('boundaries_between: unit must be day or hour, not ' ~ unit) }}
    {%- endif -%}
{%- endmacro %}

{# Rounded to `digits` decimals, halves away from zero, as a double: 2.675 -> 2.68 on every
   engine. round() on a double differs on halves (DuckDB rounds the scaled double, Spark the
   double's exact binary value, 2.67499...); a decimal of 9 places rounds the same everywhere. #}
{% macro round_half_up(expression, digits) -%}
    cast(round(cast({{ expression }} as decimal(38, 9)), {{ digits }}) as double)
{%- endmacro %}

{# The group's values, sorted, joined by `delimiter` (dbt.listagg ignores its order on Spark). #}
{% macro sorted_string_agg(expression, delimiter) -%}
    {{ return(adapter.dispatch('sorted_string_agg', 'cdp')(expression, delimiter)) }}
{%- endmacro %}
{% macro duckdb__sorted_string_agg(expression, delimiter) -%}
    string_agg({{ expression }}, {{ delimiter }} order by {{ expression }})
{%- endmacro %}
{% macro default__sorted_string_agg(expression, delimiter) -%}
    array_join(array_sort(collect_list({{ expression }})), {{ delimiter }})
{%- endmacro %}
