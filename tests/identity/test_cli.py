"""`cdp identity evaluate` end to end on a small warehouse, and its user errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import pandas as pd


def cdp(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cdp.cli", *args], capture_output=True, text=True, env=env)


def test_evaluate_scores_record_customers_against_truth(tmp_path):
    warehouse, truth = tmp_path / "cdp.duckdb", tmp_path / "truth.parquet"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema identity")
        con.execute("""create table identity.record_customers as select * from (values
            ('crm', 'C1', 'Caaaaaaaaaaaa'), ('shop', 'S1', 'Caaaaaaaaaaaa'), ('web', 'W1', 'Cbbbbbbbbbbbb'))
            t(source, source_record_id, customer_id)""")
    pd.DataFrame(
        {"source": ["crm", "shop", "web"], "source_record_id": ["C1", "S1", "W1"], "person_id": ["P1", "P1", "P1"]}
    ).to_parquet(truth)
    env = {**os.environ, "CDP_WAREHOUSE": str(warehouse)}
    result = cdp("identity", "evaluate", "--truth", str(truth), env=env)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["pairwise_precision"] == 1.0
    assert figures["pairwise_recall"] == 1 / 3  # one of the three true pairs found
    assert figures["share_persons_split"] == 1.0


def test_missing_truth_file_is_one_clear_error(tmp_path):
    env = {**os.environ, "CDP_WAREHOUSE": str(tmp_path / "none.duckdb")}
    result = cdp("identity", "evaluate", "--truth", str(tmp_path / "truth.parquet"), env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'truth.parquet'}: truth file not found"
