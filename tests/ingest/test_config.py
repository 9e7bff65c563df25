"""sources.yml: validated, clear errors naming file and key; a new file source is one entry."""

from __future__ import annotations

import subprocess
import sys

import fsspec
import pytest

from cdp.errors import CdpError
from ingest.config import load_config
from tests.ingest.tiny_universe import write_day, write_shop


def test_shipped_config_lists_every_demo_source():
    config = load_config()
    assert list(config.enabled()) == ["web", "app", "shop", "pos", "crm", "email", "erp", "partner", "broker"]
    assert config.resource_names("shop") == ["customers", "products", "orders", "order_items"]
    assert config.sources["crm"].tables["contacts"].primary_key == ["crm_id"]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "sources:\n  web:\n    kind: files\n    party: first\n    tables:\n      events: {format: xml, files: '*'}\n",
            "sources.web.tables.events.format",
        ),
        ("sources:\n  web:\n    kind: ftp\n    party: first\n", "sources.web"),
        (
            "sources:\n  crm:\n    kind: files\n    party: first\n    tables:\n"
            "      contacts: {format: csv, files: '*', write_disposition: merge}\n",
            "sources.crm.tables.contacts",
        ),
        ("sources:\n  web:\n    kind: files\n    party: fourth\n    tables: {}\n", "sources.web.party"),
        ("sources: [oops", "not valid YAML"),
    ],
)
def test_mistakes_name_the_file_and_key(tmp_path, text, where):
    path = tmp_path / "sources.yml"
    path.write_text(text)
    with pytest.raises(CdpError) as error:
        load_config(path)
    assert str(path) in str(error.value)
    assert where in str(error.value)


def test_new_csv_source_of_people_is_one_entry_and_reads_fsspec_urls(warehouse, tmp_path):
    fs = fsspec.filesystem("memory")
    fs.pipe(
        "/loyalty/members_2026-01-01.csv",
        b"member_id,email,joined_at\nm1,a@example.com,2026-01-01\nm2,b@example.com,soon\n",
    )
    path = tmp_path / "sources.yml"
    path.write_text(
        "sources:\n"
        "  loyalty:\n"
        "    kind: files\n"
        "    party: first\n"
        "    location: memory://loyalty\n"
        "    tables:\n"
        "      members: {format: csv, files: 'members_*.csv', primary_key: member_id, columns: {joined_at: date}}\n"
    )

    summary = warehouse.ingest(config=load_config(path))

    assert summary.failed == {}
    assert warehouse.query("SELECT member_id, _source_file, _source_row FROM raw_loyalty.members") == [
        ("m1", "memory:///loyalty/members_2026-01-01.csv", 2)
    ]
    assert warehouse.query("SELECT field, reason FROM raw_loyalty._quarantine") == [
        ("joined_at", "not a valid date: soon")
    ]
    fs.rm("/loyalty", recursive=True)


def test_cli_ingests_and_prints_a_summary(warehouse, monkeypatch):
    write_day(warehouse.data_dir, 0)
    write_shop(warehouse.data_dir)
    monkeypatch.setenv("CDP_WAREHOUSE", str(warehouse.path))
    monkeypatch.setenv("CDP_DATA_DIR", str(warehouse.data_dir))

    def cdp(*args):
        return subprocess.run([sys.executable, "-m", "cdp.cli", "ingest", *args], capture_output=True, text=True)

    result = cdp("--source", "web", "--source", "partner")
    assert result.returncode == 0, result.stderr
    assert "web" in result.stdout and "partner" in result.stdout and "pos" not in result.stdout
    assert warehouse.count("raw_partner.responses") == 3

    (warehouse.data_dir / "partner").rename(warehouse.data_dir / "partner-moved")
    result = cdp("--source", "partner")
    assert result.returncode == 1
    assert "FAILED" in result.stdout

    result = cdp("--source", "nope")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


MINIMAL = "sources:\n  web:\n    kind: files\n    party: first\n    tables:\n      events: {format: jsonl, files: 'web/*.jsonl'}\n"


def test_the_data_dir_is_the_given_one_then_the_files_then_cdp_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CDP_DATA_DIR", str(tmp_path / "from_env"))
    plain = tmp_path / "plain.yml"
    plain.write_text(MINIMAL)
    with_key = tmp_path / "with_key.yml"
    with_key.write_text("data_dir: from_file\n" + MINIMAL)
    assert load_config(plain).data_dir_for() == tmp_path / "from_env"
    assert load_config(with_key).data_dir_for() == tmp_path / "from_file"  # relative to the file
    assert load_config(with_key).data_dir_for(tmp_path / "given") == tmp_path / "given"


def test_an_unknown_source_is_named_with_the_config_file_actually_used(tmp_path):
    from ingest.runner import run_ingest

    path = tmp_path / "my_sources.yml"
    path.write_text(MINIMAL)
    with pytest.raises(CdpError, match=r"my_sources\.yml: sources: no source named nope"):
        run_ingest(["nope"], warehouse=tmp_path / "w.duckdb", data_dir=tmp_path, config=load_config(path))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources:\n  web:\n  \tkind: files\n", "line 3, column 3: a tab character; YAML indents with spaces"),
        ("sources:\n\t- web\n", "line 2, column 1: a tab character; YAML indents with spaces"),
        ("sources:\n  web: kind: files\n", "line 2, column 12: not valid YAML: mapping values are not allowed here"),
        (
            "sources:\n  web: 'files\n",
            "line 3, column 1: not valid YAML: found unexpected end of stream"
            " (while scanning a quoted scalar at line 2, column 8)",
        ),
        ("sources: *web\n", "line 1, column 10: not valid YAML: found undefined alias 'web'"),
    ],
)
def test_a_yaml_mistake_is_one_line_naming_the_file_line_and_column(tmp_path, text, message):
    path = tmp_path / "sources.yml"
    path.write_text(text)
    with pytest.raises(CdpError) as error:
        load_config(path)
    assert str(error.value) == f"{path}: {message}"
