"""Suite-wide test settings: hypothesis's profile, the shared demo pipeline, how xdist splits the suite."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline: on a loaded 2-core CI machine a first example (a compile, a
# phone metadata load) can take far longer than the next ones; timing is not what these test.
settings.register_profile("cdp", deadline=None, print_blob=True)
settings.load_profile("cdp")

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def demo_pipeline(tmp_path_factory, worker_id):
    """`cdp run` twice on the 300-person demo universe (tests/demo_pipeline.py), once per test
    session: under xdist the first worker to ask builds it in the folder all workers share,
    the others wait for it and read the same warehouse (read-only, or a copy)."""
    from filelock import FileLock

    from tests.demo_pipeline import run_demo_pipeline_twice

    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent  # xdist: one basetemp per worker, beside each other
    saved = shared / "demo_pipeline.pickle"
    with FileLock(shared / "demo_pipeline.lock"):
        if not saved.exists():
            runs = run_demo_pipeline_twice(shared / "demo_pipeline")
            saved.write_bytes(pickle.dumps(runs))
    return pickle.loads(saved.read_bytes())


# Under pytest-xdist each folder's tests run on one worker: they share session and module
# fixtures (a generated universe, a parsed dbt project, a built warehouse) that would be built
# again on every worker they were split across (the demo pipeline alone is shared by all
# workers). pytest 9.2 no longer lets xdist's own `xdist_group` marks rename node ids
# (--dist loadgroup groups nothing), so cdp schedules by folder itself.
# Groups that take longest start first, so no worker is left with one of them at the end;
# the rest follow in collection order as workers free up.
LONGEST_FIRST = (
    "tests/spark",
    "tests/dbt",
    "tests/bench",
    "tests/orchestrate",
    "tests/incremental",
    "tests/ingest",
    "tests/identity",
    "tests/privacy",
)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """One worker more than cores (`--numprocesses=auto`): a quarter of the time a worker waits
    on a subprocess it started (dbt, cdp), a lock or a local server, and with one per core the
    cores sat idle then (2 cores: the core suites 512 s with two workers, 409 s with three)."""
    return (os.cpu_count() or 1) + 1


def group_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0].rpartition("/")[0]


def _start_order(group: str) -> int:
    return LONGEST_FIRST.index(group) if group in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    from xdist.scheduler import LoadScopeScheduling

    class FolderScheduling(LoadScopeScheduling):
        """xdist's load-by-scope, with cdp's groups as the scopes, longest first."""

        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

        def _assign_work_unit(self, node) -> None:
            # the next unit handed out is the longest-running group left (collection order among equals)
            self.workqueue.move_to_end(min(self.workqueue, key=_start_order), last=False)
            super()._assign_work_unit(node)

    config.option.loadscopereorder = False
    return FolderScheduling(config, log)
