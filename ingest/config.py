"""ingest/sources.yml, validated: which sources exist, where they live, how they load.

Configuration, not code, says where data comes from. Each source has a `kind`:

- `files`: JSONL / CSV / Parquet files found by a glob under `location` (a folder
  relative to the data dir, an absolute path, or any fsspec URL such as
  `memory://` or `s3://bucket/prefix`); a file manifest (`raw_<source>._files`)
  makes re-runs skip files already loaded.
- `sql_database`: tables read through a SQLAlchemy URL, incremental on a cursor
  column (`updated_at`), merged on the primary key.
- `rest_api`: a paginated JSON API, auth token read from an environment variable,
  incremental on a cursor sent as a query parameter.

`{data_dir}` in a location or URL is replaced by the data dir (`IngestConfig.data_dir_for`):
the folder a command is given (`--data-dir`, `run_ingest(data_dir=...)`) when there is one,
else the `data_dir` key of the file (relative to the file's folder), else CDP_DATA_DIR
(default data/demo, `cdp.settings.data_dir()`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from cdp import settings
from cdp.errors import CdpError

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent / "sources.yml"

# Declared column types: values that do not cast are quarantined (types are frozen),
# columns nobody declared load as text (new columns evolve).
ColumnType = Literal["text", "bigint", "double", "boolean", "date", "timestamp"]
WriteDisposition = Literal["append", "merge"]

# The schema contract of every raw table: new tables and columns evolve, data types are
# frozen (file readers quarantine values that do not fit before dlt sees them).
SCHEMA_CONTRACT = {"tables": "evolve", "columns": "evolve", "data_type": "freeze"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TableBase(_Strict):
    primary_key: list[str] = []
    write_disposition: WriteDisposition = "append"
    columns: dict[str, ColumnType] = {}

    @field_validator("primary_key", mode="before")
    @classmethod
    def _one_key_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @property
    def dlt_write_disposition(self) -> str | dict:
        if self.write_disposition == "merge":
            return {"disposition": "merge", "strategy": "delete-insert"}
        return "append"

    @model_validator(mode="after")
    def _merge_needs_a_key(self) -> TableBase:
        if self.write_disposition == "merge" and not self.primary_key:
            raise ValueError("write_disposition merge needs a primary_key")
        return self


class FileTable(TableBase):
    format: Literal["jsonl", "csv", "parquet"]
    files: str = Field(description="glob relative to the source location, e.g. events_*.jsonl")
    delimiter: str = ","
    encoding: Literal["utf-8", "utf-16", "latin-1"] = "utf-8"
    # for merge tables: the newest version of a key within one load wins
    dedup_sort: str | None = None


class SqlTable(TableBase):
    cursor: str | None = None
    lag_seconds: float = Field(
        86400,
        ge=0,
        description="re-read rows whose cursor is up to this far below the highest one loaded (late updates);"
        " days for a date cursor (rounded up); 0 = no lag. Unchanged rows re-read are not loaded again",
    )
    full_scan_every_days: int = Field(
        7,
        ge=0,
        description="read the whole table once every this many (UTC calendar) days: rows gone from the source get"
        " _cdp_deleted_at (merge tables), changes the cursor missed are loaded; 0 = never",
    )


class RestTable(TableBase):
    path: str
    cursor: str | None = None
    cursor_param: str | None = Field(None, description="query parameter carrying the last cursor value")
    data_selector: str | None = None
    params: dict[str, Any] = {}


class SourceBase(_Strict):
    party: Literal["first", "second", "third"]
    enabled: bool = True
    description: str = ""


class FilesSource(SourceBase):
    kind: Literal["files"]
    location: str | None = Field(None, description="folder or fsspec URL; default: <data_dir>/<source name>")
    tables: dict[str, FileTable]


class SqlSource(SourceBase):
    kind: Literal["sql_database"]
    url: str = Field(description="SQLAlchemy URL, e.g. sqlite:///{data_dir}/shop/shop.sqlite")
    tables: dict[str, SqlTable]


class BearerAuth(_Strict):
    type: Literal["bearer"] = "bearer"
    token_env: str = Field(description="environment variable holding the token")


class RestSource(SourceBase):
    kind: Literal["rest_api"]
    base_url: str
    auth: BearerAuth | None = None
    # dlt rest_api paginator config, passed through (e.g. {type: json_link, next_url_path: next})
    paginator: dict[str, Any] | str = "auto"
    tables: dict[str, RestTable]


Source = Annotated[FilesSource | SqlSource | RestSource, Field(discriminator="kind")]


class IngestConfig(_Strict):
    data_dir: Path | None = None
    sources: dict[str, Source]
    _path: Path = PrivateAttr(default=DEFAULT_CONFIG_PATH)  # the file it was read from, for messages

    @property
    def path(self) -> Path:
        return self._path

    def data_dir_for(self, given: Path | None = None) -> Path:
        """The data dir: the one a command was given, else the file's `data_dir`, else CDP_DATA_DIR."""
        return Path(given or self.data_dir or settings.data_dir()).expanduser().resolve()

    def enabled(self) -> dict[str, Source]:
        return {name: source for name, source in self.sources.items() if source.enabled}

    def resource_names(self, source: str) -> list[str]:
        """The dlt resources (= raw tables) a source loads; the orchestrator makes one asset each."""
        return list(self.sources[source].tables)


def load_config(path: Path | str | None = None) -> IngestConfig:
    """Read and validate ingest/sources.yml (or `path`); errors name the file and the key."""
    path = Path(path) if path else DEFAULT_CONFIG_PATH
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CdpError(f"{path}: cannot read the ingest config: {error.strerror}") from error
    except yaml.YAMLError as error:
        # PyYAML's message spans several lines (context, snippet, caret); say it in one,
        # "<path>: line L, column C: <problem>", adding where the construct began if known.
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        if mark is None:  # a ReaderError (an unprintable character): no line to name
            raise CdpError(f"{path}: not valid YAML: {problem}") from error
        where = f"{path}: line {mark.line + 1}, column {mark.column + 1}"
        if mark.buffer and mark.buffer[mark.pointer : mark.pointer + 1] == "\t":
            raise CdpError(f"{where}: a tab character; YAML indents with spaces") from error
        context, begun = getattr(error, "context", None), getattr(error, "context_mark", None)
        if context and begun is not None:
            problem += f" ({context} at line {begun.line + 1}, column {begun.column + 1})"
        raise CdpError(f"{where}: not valid YAML: {problem}") from error
    try:
        config = IngestConfig.model_validate(raw or {})
    except ValidationError as error:
        first = error.errors()[0]
        location = list(first["loc"])
        if len(location) > 2 and location[0] == "sources":
            del location[2]  # the kind tag pydantic adds for the tagged union
        where = ".".join(str(part) for part in location)
        raise CdpError(f"{path}: {where}: {first['msg']}") from error
    if config.data_dir and not config.data_dir.is_absolute():
        config = config.model_copy(update={"data_dir": (path.parent / config.data_dir).resolve()})
    config._path = path
    return config
