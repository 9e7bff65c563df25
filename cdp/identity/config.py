"""The identity configuration: what is compared and how, blocking, threshold, guardrails.

It lives in the dbt project, as the var `identity` in `dbt_project/dbt_project.yml`
(analytics engineers edit it there, `dbt build --vars` overrides it); the dbt Python model
receives it as JSON through its config, the CLI reads the project file. A staging model
adds a comparison of one of its own columns in its YAML, with no Python:

    meta:
      identity_input: true
      match_fields: {soc_sec_id: id_number, address_2: text}

`IdentityConfig.checked(raw, where)` validates either form; a mistake is one line naming
where it is (`dbt_project.yml: vars.identity.comparisons.2.kind: ...`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cdp.errors import CdpError

# How a field is compared (cdp.identity.comparisons turns each into Splink levels).
Kind = Literal["exact", "name", "date", "address", "postcode", "id_number", "email", "phone", "text"]
KINDS = get_args(Kind)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Comparison(Strict):
    """One Splink comparison: `name` is its output column (and the field, unless `fields`)."""

    name: str
    kind: Kind
    # kind address: the fields standing for address, postcode and city (any may be absent)
    fields: dict[Literal["address", "postcode", "city"], str] | None = None
    nicknames: bool = False  # kind name: names of one nickname family agree (Bob, Robert)
    reversed_with: str | None = None  # kind name: this field typed in that one's place
    term_frequency: bool = False  # exact agreement on a rare value weighs more

    @property
    def columns(self) -> tuple[str, ...]:
        """The input columns the comparison reads."""
        if self.kind == "address":
            return tuple((self.fields or {"address": "address", "postcode": "postcode", "city": "city"}).values())
        return (self.name, *([self.reversed_with] if self.reversed_with else []))


class FirstNamesGuardrail(Strict):
    """A probabilistic link between clearly different first names is dropped, unless the
    person-level evidence of the other comparisons (all but the household's, see
    `Guardrails.household`) weighs at least `overruled_from_weight`: one birth date and one id
    number say one person whatever the first names (FEBRL's replaced given names), one
    birthday at one address with one surname does not (twins)."""

    enabled: bool = True
    overruled_from_weight: float = 16.0


class BirthDatesGuardrail(Strict):
    """Two known birth dates further apart than a typo or a day/month swap are two people
    (father and son of one name at one address): their probabilistic link is dropped, and a
    contact value they share is a household's, unless the person-level evidence of the other
    comparisons weighs at least `overruled_from_weight` (one first name and one id number)."""

    enabled: bool = True
    overruled_from_weight: float = 12.0


class EmailTypoGuardrail(Strict):
    """An email seen once a keystroke off the one known address near it links to it, only when
    the first names are one family (or missing), nothing in `disagree_on` disagrees, and at
    least one field of `agree_on` agrees (a one-off typo alone is not evidence)."""

    enabled: bool = True
    min_local_length: int = Field(8, ge=3)
    # name (first and last), date_of_birth, phone, address, postcode, city; empty: none needed
    agree_on: tuple[Literal["name", "date_of_birth", "phone", "address", "postcode", "city"], ...] = (
        "name",
        "date_of_birth",
        "phone",
        "address",
        "postcode",
    )
    disagree_on: tuple[Literal["date_of_birth", "phone", "last_name", "postcode", "address", "city"], ...] = (
        "date_of_birth",
        "phone",
        "last_name",
    )


class SharedContactsGuardrail(Strict):
    """An email or phone used by clearly different people (a household's) never links on its own."""

    enabled: bool = True


# The guardrails that judge a Splink pair, and the comparison each one is about.
PAIR_GUARDRAILS = {"different_first_names": "first_name", "different_birth_dates": "date_of_birth"}


class Guardrails(Strict):
    # comparisons a household shares (surname, home, landline): no evidence that two records
    # are one person rather than two people living together; comparisons of a match field of
    # kind address, postcode or phone count as household ones too
    household: tuple[str, ...] = ("last_name", "home", "phone")
    different_first_names: FirstNamesGuardrail = FirstNamesGuardrail()
    different_birth_dates: BirthDatesGuardrail = BirthDatesGuardrail()
    email_typo: EmailTypoGuardrail = EmailTypoGuardrail()
    shared_contacts: SharedContactsGuardrail = SharedContactsGuardrail()


class Training(Strict):
    max_pairs: float = Field(5e6, gt=0)  # record pairs sampled to estimate u
    seed: int = 42
    # an EM pass whose blocking yields more pairs than this is not used (too slow, too loose);
    # among passes covering as much, the tightest with at least min_em_pairs is preferred
    max_em_pairs: float = Field(2e7, gt=0)
    min_em_pairs: float = Field(200, ge=0)


class IdentityConfig(Strict):
    threshold: float = Field(0.99, gt=0, lt=1)
    max_cluster_size: int = Field(100, ge=2)
    comparisons: tuple[Comparison, ...]
    # each rule: the fields that must be equal (a list), or a SQL condition on l. and r.
    blocking_rules: tuple[list[str] | str, ...]
    guardrails: Guardrails = Guardrails()
    training: Training = Training()

    @model_validator(mode="after")
    def _unique_names(self) -> IdentityConfig:
        names = [comparison.name for comparison in self.comparisons]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"comparison names must be unique: {', '.join(repeated)} repeated")
        return self

    @classmethod
    def checked(cls, raw: Any, where: str) -> IdentityConfig:
        """The configuration from a dict (or its JSON); a problem is a CdpError naming `where`."""
        if isinstance(raw, str):
            raw = json.loads(raw)
        if not isinstance(raw, dict):
            raise CdpError(f"{where}: the identity configuration must be a mapping, not {type(raw).__name__}")
        try:
            return cls.model_validate(raw)
        except ValidationError as error:
            first = error.errors()[0]
            location = ".".join(str(part) for part in first["loc"])
            raise CdpError(f"{where}.{location}: {first['msg']}") from None

    def with_match_fields(self, match_fields: dict[str, str]) -> IdentityConfig:
        """This configuration plus a comparison (and a blocking rule for id numbers, emails and
        phones) for each staging match field that no comparison names yet."""
        known = {column for comparison in self.comparisons for column in comparison.columns}
        extra = [
            Comparison(name=field, kind=kind, fields={"address": field} if kind == "address" else None)  # type: ignore[arg-type]
            for field, kind in sorted(match_fields.items())
            if field not in known
        ]
        blocks = [[c.name] for c in extra if c.kind in ("id_number", "email", "phone", "exact")]
        return self.model_copy(
            update={"comparisons": (*self.comparisons, *extra), "blocking_rules": (*self.blocking_rules, *blocks)}
        )

    @property
    def household_comparisons(self) -> set[str]:
        """Comparisons whose agreement a household shares (no person-level evidence)."""
        by_kind = {c.name for c in self.comparisons if c.kind in ("address", "postcode", "phone")}
        return set(self.guardrails.household) | by_kind

    def person_level_comparisons(self, without: str) -> list[str]:
        """The comparisons that tell one person from a household's members, but `without`:
        the evidence that may overrule a guardrail about that comparison."""
        household = self.household_comparisons
        return [c.name for c in self.comparisons if c.name not in household and c.name != without]

    @property
    def columns(self) -> tuple[str, ...]:
        """Every input column a comparison reads, in order."""
        return tuple(dict.fromkeys(column for comparison in self.comparisons for column in comparison.columns))


def from_project(project_dir: Path) -> IdentityConfig:
    """The `identity` var of a dbt project's dbt_project.yml."""
    project_file = project_dir / "dbt_project.yml"
    variables = (yaml.safe_load(project_file.read_text()) or {}).get("vars") or {}
    if "identity" not in variables:
        raise CdpError(f"{project_file}: vars.identity (the identity configuration) is missing")
    return IdentityConfig.checked(variables["identity"], f"{project_file}: vars.identity")


def check_match_field_kind(field: str, kind: str, where: str) -> None:
    if kind not in KINDS:
        raise CdpError(f"{where}: meta.match_fields.{field}: '{kind}' is not one of {', '.join(KINDS)}")
