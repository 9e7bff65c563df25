"""Crash in the middle of a sync, then recovery: the clean-run end state, no duplicate sends.

The sync runs in a child process against a local webhook. The fake answers the first four
batches and holds the fifth; the child is then killed (SIGKILL: no cleanup runs). A second,
ordinary run must leave the destination and the warehouse state exactly as one clean run
does, and no row of the four acknowledged batches may be sent twice.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter

from cdp import settings
from cdp.activate import run_sync
from tests.activate import fake_apis
from tests.activate.conftest import TestWarehouse, make_spec, person

SECRET = "crash-test-secret"
BATCH = 5
ACKNOWLEDGED_BATCHES = 4
CHILD = """
import json, sys
from cdp.activate import run_sync
from cdp.activate.delivery import DeliveryPolicy
from cdp.activate.specs import SyncSpec
warehouse, spec, env = sys.argv[1], SyncSpec(**json.loads(sys.argv[2])), json.loads(sys.argv[3])
run_sync(warehouse, spec, env=env, policy=DeliveryPolicy(timeout_s=60))
"""


def _spec(url: str):
    return make_spec(destination="webhook", config={"url": f"{url}/hook", "batch_size": BATCH, "concurrency": 1})


def _state(warehouse: TestWarehouse) -> list[tuple]:
    return warehouse.query(
        "select primary_key, checksum, record::varchar, in_destination, status from reverse_etl.sync_state order by 1"
    )


def _sent_keys(api: fake_apis.FakeApi) -> Counter:
    return Counter(row["key"] for request in api.requests for row in json.loads(request["body"])["rows"])


def test_kill_mid_sync_then_rerun_matches_a_clean_run(tmp_path):
    people = [person(number) for number in range(50)]
    crashed = TestWarehouse(tmp_path / "crashed.duckdb")
    crashed.write(people)
    clean = TestWarehouse(tmp_path / "clean.duckdb")
    shutil.copy(crashed.path, clean.path)
    env = {"CDP_WEBHOOK_SECRET": SECRET}

    with fake_apis.FakeApi(fake_apis.WebhookContract(SECRET)) as clean_api:
        assert run_sync(clean.path, _spec(clean_api.url), env=env).status == "success"

    with fake_apis.FakeApi(fake_apis.WebhookContract(SECRET)) as api:
        api.block_after = ACKNOWLEDGED_BATCHES
        spec = _spec(api.url)
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(crashed.path), spec.model_dump_json(), json.dumps(env)],
            cwd=settings.PROJECT_ROOT,
            env={**os.environ, "PYTHONPATH": str(settings.PROJECT_ROOT)},
        )
        try:
            assert api.held.wait(timeout=60), "the child never reached the fifth batch"
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
        api.release.set()  # the held batch is applied, but its answer never reached the client
        api.block_after = None

        # The four answered batches were committed to the row log before the child died.
        acknowledged = {
            key for (key,) in crashed.query("select primary_key from reverse_etl.sync_log where status = 'sent'")
        }
        assert len(acknowledged) == BATCH * ACKNOWLEDGED_BATCHES

        rerun = run_sync(crashed.path, spec, env=env)
        assert (rerun.status, rerun.added) == ("success", len(people) - len(acknowledged))

        assert api.contract.snapshot() == clean_api.contract.snapshot()
        assert _state(crashed) == _state(clean)
        sent = _sent_keys(api)
        assert all(sent[key] == 1 for key in acknowledged)
        assert set(sent) == {p["customer_id"] for p in people}
