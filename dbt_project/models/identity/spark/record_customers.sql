-- On Spark: identity resolution is a step of the build between two dbt selections, since
-- dbt-spark's session method runs no Python models (cdp/identity/on_spark.py). The step
-- writes identity_resolution.record_customers; this is that table, for every model after it.
-- On DuckDB the Python model models/identity/record_customers.py is this node instead.
-- depends_on: {{ ref('identity_inputs') }}, {{ ref('identity_strong_ids') }}, {{ ref('identity_match_fields') }}
-- depends_on: {{ ref('blocked_identifiers') }}, {{ ref('nicknames') }}
{{ config(materialized='view') }}

select * from {{ source('identity_resolution', 'record_customers') }}
