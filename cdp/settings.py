"""Where things live, and every `CDP_*` setting: the one place that reads and checks them.

Setting                   Default                         What
CDP_WAREHOUSE             <repo>/warehouse/cdp.duckdb     the DuckDB file everything reads and writes
CDP_DATA_DIR              <repo>/data/demo                the source data folder (the demo universe, or yours)
CDP_DUCKDB_MEMORY_LIMIT   40% of RAM                      memory for each DuckDB instance the build opens
CDP_DBT_THREADS           2                               dbt's threads (dbt_project/profiles.yml reads it)
CDP_SCHEDULE_TIMEZONE     UTC                             time zone of the nightly schedule
CDP_EXPORT_DIR            exports/ beside the warehouse   where the file destination writes
CDP_WEBHOOK_URL           unset                           the webhook destination's URL
CDP_WEBHOOK_SECRET        unset                           the webhook destination's signing secret
CDP_ALERT_WEBHOOK_URL     unset                           failed Dagster steps are posted here
CDP_SYNC_LOG_RETENTION_DAYS 30                            days reverse_etl.sync_log keeps its rows
CDP_SYNC_LOG_RECORDS      full                            full: the log keeps each payload sent; hashes: only its SHA-256
CDP_MAX_REMOVAL_SHARE     0.2                             a sync removing more of its members in one run stops
CDP_CONFIRM_REMOVALS      unset                           1: this run's syncs may remove more than that share
CDP_UI_TOKEN              unset                           the access token of `cdp ui` (--token overrides it)
CDP_IDENTITY_MODEL        dbt_project/identity_model.json the trained identity model (`cdp identity train` writes it)

Defaults are resolved against the repository root (PROJECT_ROOT), so every command, and a
bare `dbt build` in dbt_project/, finds the same warehouse whatever the working directory.
A relative path *given* in CDP_WAREHOUSE / CDP_DATA_DIR / CDP_EXPORT_DIR is resolved against
the working directory, as with any path typed in a shell. An empty value counts as unset.

`current()` reads the environment and checks every setting at once (the `cdp` command and
Dagster's definitions call it when they start); a bad one is a `CdpError` naming the setting
and what is wrong. The accessors below (`warehouse_path()`, ...) check only their own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError

from cdp.errors import CdpError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SEEDS_DIR = PROJECT_ROOT / "seeds"
INGEST_DIR = PROJECT_ROOT / "ingest"

DEFAULT_WAREHOUSE = PROJECT_ROOT / "warehouse" / "cdp.duckdb"
DEFAULT_DATA_DIR = PROJECT_ROOT / "data" / "demo"
DEFAULT_IDENTITY_MODEL = DBT_PROJECT_DIR / "identity_model.json"
DEFAULT_DBT_THREADS = 2
DEFAULT_TIMEZONE = "UTC"
DEFAULT_SYNC_LOG_RETENTION_DAYS = 30
DEFAULT_MAX_REMOVAL_SHARE = 0.2
SYNC_LOG_RECORDS = ("full", "hashes")
ENGINES = ("duckdb", "spark")  # the dbt targets in dbt_project/profiles.yml

# The build runs two DuckDB instances at once (dbt's warehouse connection and the identity
# step's private one); each defaults to 80% of RAM, so together they could ask for more
# than the machine has. 40% each keeps the pair under it; DuckDB spills to disk beyond.
DUCKDB_MEMORY_SHARE = 0.4

DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file
MEMORY_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", flags=re.IGNORECASE)


class SettingError(ValueError):
    """One setting's problem, worded for the user: "'<value>' is ..."."""


def given_path(value: Any) -> Path:
    """A path from the environment: `~` expanded, relative to the working directory."""
    return Path(value).expanduser().resolve()


def check_warehouse(value: Any) -> Path:
    """A DuckDB file, or where one will be created: not a folder, not some other file."""
    path = given_path(value)
    if path.is_dir():
        raise SettingError(f"'{value}' is a folder, not a DuckDB file (name the file, e.g. {path / 'cdp.duckdb'})")
    folder = next((parent for parent in path.parents if parent.exists()), None)
    if folder is not None and not folder.is_dir():
        raise SettingError(f"'{value}': {folder} is a file, so no warehouse can be created below it")
    if path.is_file():
        try:
            with path.open("rb") as file:
                header = file.read(12)
        except OSError as error:
            raise SettingError(f"'{value}' cannot be read: {error.strerror}") from error
        if header and header[8:12] != DUCKDB_MAGIC:
            raise SettingError(f"'{value}' is not a DuckDB database file")
    return path


def check_folder(value: Any) -> Path:
    """A folder that may not exist yet; if it exists it must be a readable folder."""
    path = given_path(value)
    if path.exists() and not path.is_dir():
        raise SettingError(f"'{value}' is a file, not a folder")
    if path.is_dir() and not os.access(path, os.R_OK | os.X_OK):
        raise SettingError(f"'{value}' cannot be read: permission denied")
    return path


def check_memory_limit(value: Any) -> str:
    value = str(value).strip()
    if not MEMORY_SIZE.fullmatch(value):
        raise SettingError(f"'{value}' is not a memory size such as 6GB or 4096MB")
    return value


def whole_number(unit: str) -> Callable[[Any], int]:
    """A check for a whole number of `unit`, 1 or more."""

    def check(value: Any) -> int:
        text = str(value).strip()
        if not text.isdigit() or int(text) < 1:
            raise SettingError(f"'{value}' is not a whole number of {unit}, 1 or more")
        return int(text)

    return check


check_threads = whole_number("threads")
check_days = whole_number("days")


def check_timezone(value: Any) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = str(value).strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise SettingError(f"'{value}' is not a time zone (an IANA name such as Europe/Amsterdam, or UTC)") from error
    return name


def check_model_file(value: Any) -> Path:
    path = given_path(value)
    if path.is_dir():
        raise SettingError(
            f"'{value}' is a folder, not a model file (name the file, e.g. {path / 'identity_model.json'})"
        )
    return path


def check_url(value: Any) -> str:
    url = str(value).strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingError(f"'{value}' is not an http(s) URL such as https://hooks.example.com/cdp")
    return url


def check_share(value: Any) -> float:
    try:
        share = float(str(value).strip().rstrip("%")) / (100 if str(value).strip().endswith("%") else 1)
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise SettingError(f"'{value}' is not a share between 0 and 1 (such as 0.2 or 20%)")
    return share


def check_log_records(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in SYNC_LOG_RECORDS:
        raise SettingError(f"'{value}' is not one of {', '.join(SYNC_LOG_RECORDS)}")
    return text


def check_engine(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in ENGINES:
        raise SettingError(f"'{value}' is not one of {', '.join(ENGINES)}")
    return text


def check_flag(value: Any) -> bool:
    text = str(value).strip().lower()
    if text not in ("1", "true", "yes", "0", "false", "no"):
        raise SettingError(f"'{value}' is not 1 or 0 (true or false)")
    return text in ("1", "true", "yes")


def checked(check: Callable[[Any], Any]) -> BeforeValidator:
    return BeforeValidator(check)


class Settings(BaseModel):
    """Every `CDP_*` setting, checked. Build it with `Settings.from_environment()`."""

    model_config = ConfigDict(frozen=True, extra="ignore", validate_default=True)

    warehouse: Annotated[Path, checked(check_warehouse)] = Field(DEFAULT_WAREHOUSE, alias="CDP_WAREHOUSE")
    data_dir: Annotated[Path, checked(check_folder)] = Field(DEFAULT_DATA_DIR, alias="CDP_DATA_DIR")
    duckdb_memory_limit: Annotated[str | None, checked(lambda v: v and check_memory_limit(v))] = Field(
        None, alias="CDP_DUCKDB_MEMORY_LIMIT", description="unset: DUCKDB_MEMORY_SHARE of RAM"
    )
    engine: Annotated[str, checked(check_engine)] = Field("duckdb", alias="CDP_ENGINE")
    spark_dir: Annotated[Path | None, checked(lambda v: v and given_path(v))] = Field(
        None, alias="CDP_SPARK_DIR", description="unset: <warehouse>.spark/ beside the warehouse"
    )
    dbt_threads: Annotated[int, checked(check_threads)] = Field(DEFAULT_DBT_THREADS, alias="CDP_DBT_THREADS")
    schedule_timezone: Annotated[str, checked(check_timezone)] = Field(DEFAULT_TIMEZONE, alias="CDP_SCHEDULE_TIMEZONE")
    export_dir: Annotated[Path | None, checked(lambda v: v and check_folder(v))] = Field(
        None, alias="CDP_EXPORT_DIR", description="unset: exports/ beside the warehouse"
    )
    webhook_url: Annotated[str | None, checked(lambda v: v and check_url(v))] = Field(None, alias="CDP_WEBHOOK_URL")
    webhook_secret: SecretStr | None = Field(None, alias="CDP_WEBHOOK_SECRET")
    alert_webhook_url: Annotated[str | None, checked(lambda v: v and check_url(v))] = Field(
        None, alias="CDP_ALERT_WEBHOOK_URL"
    )
    sync_log_retention_days: Annotated[int, checked(check_days)] = Field(
        DEFAULT_SYNC_LOG_RETENTION_DAYS, alias="CDP_SYNC_LOG_RETENTION_DAYS"
    )
    sync_log_records: Annotated[str, checked(check_log_records)] = Field("full", alias="CDP_SYNC_LOG_RECORDS")
    max_removal_share: Annotated[float, checked(check_share)] = Field(
        DEFAULT_MAX_REMOVAL_SHARE, alias="CDP_MAX_REMOVAL_SHARE"
    )
    confirm_removals: Annotated[bool, checked(check_flag)] = Field(False, alias="CDP_CONFIRM_REMOVALS")
    ui_token: SecretStr | None = Field(None, alias="CDP_UI_TOKEN")
    identity_model: Annotated[Path, checked(lambda v: check_model_file(v))] = Field(
        DEFAULT_IDENTITY_MODEL, alias="CDP_IDENTITY_MODEL"
    )

    @classmethod
    def variables(cls) -> list[str]:
        """The environment variable of every setting, in declaration order."""
        return [field.alias for field in cls.model_fields.values() if field.alias]

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings in `environ` (default os.environ); the first bad one is a CdpError."""
        environ = os.environ if environ is None else environ
        given = {name: environ[name] for name in cls.variables() if environ.get(name, "").strip()}
        try:
            return cls.model_validate(given)
        except ValidationError as error:
            raise CdpError(describe(error)) from None


def describe(error: ValidationError) -> str:
    """`CDP_X: <what is wrong>` for the first problem pydantic found."""
    first = error.errors()[0]
    name = ".".join(str(part) for part in first["loc"])
    problem = first.get("ctx", {}).get("error")
    return f"{name}: {problem if isinstance(problem, SettingError) else first['msg']}"


def current() -> Settings:
    """Every setting, read from the environment now and checked."""
    return Settings.from_environment()


def one(name: str, check: Callable[[Any], Any], default: Any) -> Any:
    """One setting from the environment, checked (an empty value counts as unset)."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return check(value)
    except SettingError as error:
        raise CdpError(f"{name}: {error}") from None


def warehouse_path() -> Path:
    """The DuckDB file, absolute (dbt-duckdb resolves relative paths against the cwd)."""
    return one("CDP_WAREHOUSE", check_warehouse, DEFAULT_WAREHOUSE)


def data_dir() -> Path:
    """The folder holding the source files of the demo universe (or your own)."""
    return one("CDP_DATA_DIR", check_folder, DEFAULT_DATA_DIR)


def engine() -> str:
    """Where the dbt project runs: duckdb (the warehouse file) or spark (docs/architecture.md, "Spark")."""
    return one("CDP_ENGINE", check_engine, "duckdb")


def spark_dir() -> Path:
    """Local Spark's folder: its metastore, its tables and the raw Parquet cdp publishes to it."""
    configured = one("CDP_SPARK_DIR", given_path, None)
    warehouse = warehouse_path()
    return Path(configured or warehouse.with_name(warehouse.name + ".spark")).resolve()


def duckdb_memory_limit() -> str:
    """`memory_limit` for a DuckDB connection, e.g. '9600MB'."""
    configured = one("CDP_DUCKDB_MEMORY_LIMIT", check_memory_limit, None)
    if configured:
        return configured
    import psutil

    return f"{int(psutil.virtual_memory().total * DUCKDB_MEMORY_SHARE / 2**20)}MB"


def schedule_timezone() -> str:
    """The nightly schedule's time zone, an IANA name."""
    return one("CDP_SCHEDULE_TIMEZONE", check_timezone, DEFAULT_TIMEZONE)


def sync_log_retention_days() -> int:
    return one("CDP_SYNC_LOG_RETENTION_DAYS", check_days, DEFAULT_SYNC_LOG_RETENTION_DAYS)


def sync_log_records() -> str:
    """full: sync_log keeps each payload sent; hashes: only a SHA-256 of it (no PII at rest)."""
    return one("CDP_SYNC_LOG_RECORDS", check_log_records, "full")


def max_removal_share() -> float:
    return one("CDP_MAX_REMOVAL_SHARE", check_share, DEFAULT_MAX_REMOVAL_SHARE)


def confirm_removals() -> bool:
    return one("CDP_CONFIRM_REMOVALS", check_flag, False)


def ui_token() -> str | None:
    """`cdp ui`'s access token from the environment (never printed)."""
    return os.environ.get("CDP_UI_TOKEN", "").strip() or None


def identity_model_path() -> Path:
    """The trained identity model JSON the nightly build predicts with."""
    return one("CDP_IDENTITY_MODEL", check_model_file, DEFAULT_IDENTITY_MODEL)


def export_environment() -> None:
    """Pin the resolved paths in the environment so child processes (dbt, dagster) agree."""
    os.environ["CDP_WAREHOUSE"] = str(warehouse_path())
    os.environ["CDP_DATA_DIR"] = str(data_dir())
    os.environ["CDP_SPARK_DIR"] = str(spark_dir())
