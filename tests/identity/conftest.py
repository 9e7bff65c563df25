"""Hand-made identity inputs: a few records per test, so each rule is visible."""

from __future__ import annotations

import hashlib
from datetime import datetime

import pandas as pd
import pytest

from cdp import settings
from cdp.identity.prepare import MATCHING_INPUT_COLUMNS
from cdp.identity.resolve import resolve_identities

CONTRACT_COLUMNS = [*MATCHING_INPUT_COLUMNS, "observed_at"]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def records(*rows: dict) -> pd.DataFrame:
    """Identity inputs from a few dicts; missing contract columns are null."""
    frame = pd.DataFrame.from_records(list(rows)).reindex(columns=CONTRACT_COLUMNS)
    frame = frame.astype({c: "object" for c in CONTRACT_COLUMNS if c != "observed_at"})
    frame["party"] = frame["party"].fillna("first")
    frame["observed_at"] = pd.Timestamp("2026-01-01")
    return frame


def strong_ids(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["source", "source_record_id", "id_type", "id_value"], dtype="object")


@pytest.fixture(scope="session")
def seeds() -> dict[str, pd.DataFrame]:
    return {
        name: pd.read_csv(settings.SEEDS_DIR / f"{name}.csv", dtype=str)
        for name in ("blocked_identifiers", "nicknames")
    }


@pytest.fixture
def resolve(seeds):
    """resolve(inputs, ids=None, previous=None, **options) -> Resolution, with the repo's model."""

    def run(inputs, ids=None, previous=None, *, at="2026-01-01", threshold=0.99, max_cluster_size=50, **options):
        return resolve_identities(
            inputs,
            ids if ids is not None else strong_ids(),
            seeds["blocked_identifiers"],
            seeds["nicknames"],
            previous,
            threshold=threshold,
            max_cluster_size=max_cluster_size,
            run_id=f"run-{at}",
            resolved_at=datetime.fromisoformat(at),
            **options,
        )

    return run


def match_fields(*rows: tuple) -> pd.DataFrame:
    """identity_match_fields rows: (source, source_record_id, field, kind, value)."""
    return pd.DataFrame(list(rows), columns=["source", "source_record_id", "field", "kind", "value"], dtype="object")


def customer_of(resolution, source_record_id: str) -> str:
    frame = resolution.record_customers
    return frame.loc[frame.source_record_id == source_record_id, "customer_id"].item()


def rule_of(resolution, source_record_id: str) -> str:
    frame = resolution.record_customers
    return frame.loc[frame.source_record_id == source_record_id, "link_rule"].item()
