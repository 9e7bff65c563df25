-- On Spark: the identity step appends its changes to identity_resolution.identity_changelog
-- (cdp/identity/on_spark.py); this is that table. On DuckDB: models/identity/identity_changelog.py.
-- depends_on: {{ ref('record_customers') }}
{{ config(materialized='view') }}

select * from {{ source('identity_resolution', 'identity_changelog') }}
