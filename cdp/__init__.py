"""cdp: a warehouse-native Customer Data Platform.

Three phases, three places:
  collect   -> ingest/            (dlt loaders into raw_<source> schemas)
  merge     -> dbt_project/ + cdp/identity/  (staging, Splink identity, customer_360)
  activate  -> dbt_project/models/segments/ + cdp/activate/  (segments, reverse-ETL syncs)
Orchestration lives in dagster_project/; the demo universe generator in cdp/demo/.
"""

__version__ = "0.1.0"
