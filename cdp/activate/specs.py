"""Sync specs: what each segment's YAML `meta.syncs` declares, read from dbt's manifest.

A segment model declares its syncs in `meta.syncs` (docs/architecture.md section 4). dbt
renders the YAML (so `env_var(...)` is resolved) and writes it into target/manifest.json;
we read the specs from there, so the engine needs no dbt import and sees exactly what
dbt built.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cdp.activate.destinations import available, destination_class
from cdp.errors import CdpError

Mode = Literal["upsert", "mirror", "add_remove"]
OnLeave = Literal["remove", "ignore", "clear_fields"]
Purpose = Literal["email_marketing", "ads", "service"]


class SyncSpec(BaseModel):
    """One declared sync: which segment goes to which destination, and how."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_]+$")
    destination: str = Field(pattern=r"^[a-z0-9_]+$")
    mode: Mode = "upsert"
    primary_key: str = "customer_id"
    identifiers: dict[str, str] = Field(default_factory=dict)
    fields: dict[str, str] = Field(default_factory=dict)
    on_leave: OnLeave | None = None
    # The consent its people gave; required, checked against the destination when the
    # manifest is read (a pydantic default of None so the error can say what to declare).
    purpose: Purpose | None = None
    # Removals (left the segment, consent withdrawn) above this share of the members in
    # the destination stop the run until confirmed; None = the CDP_MAX_REMOVAL_SHARE setting.
    max_removal_share: float | None = Field(default=None, ge=0, le=1)
    config: dict[str, Any] = Field(default_factory=dict)
    # Filled from the manifest node, not from the YAML.
    model: str = ""
    relation: str = ""

    @model_validator(mode="after")
    def _default_on_leave(self) -> SyncSpec:
        # upsert only ever adds and updates; mirror and audiences follow the segment.
        if self.on_leave is None:
            object.__setattr__(self, "on_leave", "ignore" if self.mode == "upsert" else "remove")
        if not self.identifiers:
            raise ValueError("identifiers: at least one identifier mapping is required")
        return self

    @property
    def source_columns(self) -> list[str]:
        """Segment columns the sync reads (identifiers and fields), in a stable order."""
        return list(dict.fromkeys([*self.identifiers.values(), *self.fields.values()]))


def _relation_name(node: dict) -> str:
    # schema.table without the database: the catalog is named after the warehouse file,
    # which may be another file than the one dbt built (a copy, a test warehouse).
    return ".".join(f'"{part}"' for part in (node.get("schema"), node.get("alias") or node["name"]) if part)


def _node_syncs(node: dict) -> list[Any]:
    meta = (node.get("config") or {}).get("meta") or node.get("meta") or {}
    return meta.get("syncs") or []


def specs_from_manifest(manifest: dict, *, source: str = "manifest.json") -> list[SyncSpec]:
    """Every sync declared by a model in a parsed dbt manifest, validated."""
    specs: list[SyncSpec] = []
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model":
            continue
        for position, declared in enumerate(_node_syncs(node)):
            where = f"{source}: model {node['name']}: meta.syncs[{position}]"
            if not isinstance(declared, dict):
                raise CdpError(f"{where}: expected a mapping, got {type(declared).__name__}")
            try:
                spec = SyncSpec(**declared, model=node["name"], relation=_relation_name(node))
            except ValidationError as error:
                problems = "; ".join(
                    f"{'.'.join(str(part) for part in issue['loc']) or 'sync'}: {issue['msg']}"
                    for issue in error.errors()
                )
                raise CdpError(f"{where} ({declared.get('name', '?')}): {problems}") from None
            _check_destination(spec, where)
            specs.append(spec)
    _check_unique_names(specs, source)
    return sorted(specs, key=lambda spec: spec.name)


def _check_destination(spec: SyncSpec, where: str) -> None:
    if spec.destination not in available():
        raise CdpError(
            f"{where} ({spec.name}): destination: {spec.destination!r} is unknown; available: {', '.join(available())}"
        )
    problems = destination_class(spec.destination).spec_problems(spec)
    if problems:
        raise CdpError(f"{where} ({spec.name}): {'; '.join(problems)}")


def _check_unique_names(specs: list[SyncSpec], source: str) -> None:
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.name in seen:
            raise CdpError(
                f"{source}: model {spec.model}: sync name {spec.name!r} is already used by model {seen[spec.name]}"
            )
        seen[spec.name] = spec.model


def load_sync_specs(manifest_path: str | Path) -> list[SyncSpec]:
    """Read dbt's target/manifest.json and return every declared sync."""
    path = Path(manifest_path)
    if not path.exists():
        raise CdpError(f"{path}: no dbt manifest here; run `cdp build` (or `dbt parse`) first")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise CdpError(f"{path}:{error.lineno}: not valid JSON: {error.msg}") from None
    return specs_from_manifest(manifest, source=str(path))
