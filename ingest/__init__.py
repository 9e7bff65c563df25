"""The collect phase: dlt pipelines from every source into raw_<source> in the DuckDB warehouse.

Where data comes from is configuration (ingest/sources.yml, validated by ingest.config);
three kinds of source do the work: ingest.files (JSONL / CSV / Parquet, local or fsspec
URLs), ingest.sql (any SQLAlchemy database) and ingest.rest (paginated JSON APIs).

    cdp ingest                      # every enabled source
    cdp ingest --source shop        # one source alone
    python -c "from ingest.runner import run_ingest; print(run_ingest(['web']))"
"""
