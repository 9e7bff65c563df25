"""Audit a warehouse: members each sync holds in its destination without consent for its purpose.

    python -m bench.consent_audit                       # the default warehouse and manifest
    python -m bench.consent_audit --warehouse w/cdp.duckdb

For every declared sync, the rows reverse_etl.sync_state says are in the destination are
checked against marts.customer_360 with the engine's own consent rule for the sync's
purpose (cdp.activate.diff.CONSENT_SQL). A violation is a member the destination still holds
(not withdrawn, not removed) whose consent is not given now. Prints one line per sync and
writes bench/results/consent_audit.json; exits 1 if there is any violation.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb

from cdp import settings
from cdp.activate.diff import CONSENT_SQL
from cdp.activate.specs import load_sync_specs

RESULTS = Path(__file__).resolve().parent / "results"


def audit(warehouse: Path, manifest: Path) -> list[dict]:
    rows = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for spec in load_sync_specs(manifest):
            rule = CONSENT_SQL[None if spec.purpose == "service" else spec.purpose]
            members, violations = con.execute(
                f"""
                select count(*), count(*) filter (where not coalesce({rule}, false))
                from reverse_etl.sync_state as state
                left join marts.customer_360 as consent on consent.customer_id = state.primary_key
                where state.sync_name = ? and state.in_destination
                """,
                [spec.name],
            ).fetchone()
            rows.append({"sync": spec.name, "purpose": spec.purpose, "members": members, "violations": violations})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=settings.warehouse_path())
    parser.add_argument("--manifest", type=Path, default=settings.DBT_PROJECT_DIR / "target" / "manifest.json")
    args = parser.parse_args()
    rows = audit(args.warehouse, args.manifest)
    for row in rows:
        print(f"{row['sync']:32} {row['purpose']:16} members {row['members']:6}  violations {row['violations']}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "consent_audit.json").write_text(
        json.dumps({"warehouse": str(args.warehouse), "syncs": rows}, indent=2) + "\n"
    )
    sys.exit(1 if any(row["violations"] for row in rows) else 0)


if __name__ == "__main__":
    main()
