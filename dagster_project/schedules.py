"""The nightly schedule: the whole job at 02:00 in CDP_SCHEDULE_TIMEZONE (default UTC)."""

from __future__ import annotations

import os

import dagster as dg

NIGHTLY_CRON = "0 2 * * *"
TIMEZONE_ENV = "CDP_SCHEDULE_TIMEZONE"


def nightly_schedule(job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="nightly_at_2am",
        job=job,
        cron_schedule=NIGHTLY_CRON,
        execution_timezone=os.environ.get(TIMEZONE_ENV, "UTC"),
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Ingest every source, dbt build (identity included), then every declared sync.",
    )
