"""The CRM: one contact per person (a second for some), exported as of each day it changed."""

from __future__ import annotations

import random

from cdp.demo import world
from cdp.demo.people import event_day
from cdp.demo.sources.common import Life, Plan, apply_change, changes, identity_at, seconds, sign_ups, stable_id


def contacts(life: Life, plan: Plan) -> None:
    if not plan.crm:
        return
    rng, person = life.strands["crm"], life.person
    primary, duplicate, duplicate_day = sign_ups(rng, person)
    _contact(life, plan, stable_id("CRM", life.seed, "crm", person.index), person.arrival_day, primary)
    if plan.duplicate_crm:
        _contact(life, plan, stable_id("CRM", life.seed, "crm", person.index, 1), duplicate_day, duplicate)


def _contact(life: Life, plan: Plan, crm_id: str, created: int, rng: random.Random) -> None:
    """Writes the contact as of each day it was created or changed (the CRM's daily export)."""
    if created > life.hi:
        return
    person = life.person
    record = {"crm_id": crm_id, **identity_at(life, rng, created, person.email)}
    created_at = world.timestamp(created, seconds(rng))
    record.update(
        email_marketing_consent=plan.email_consent,
        ads_consent=plan.ads_consent,
        consent_updated_at=created_at,
        created_at=created_at,
        updated_at=created_at,
    )
    first_file_day = max(created, 0)
    life.out.row("crm", first_file_day, dict(record))
    withdrawal = event_day(rng, max(created, 0), life.rates.consent_withdrawal)
    updates = changes(person, created, life.hi)
    if withdrawal <= life.hi and (plan.email_consent or plan.ads_consent):
        updates = sorted([*updates, (withdrawal, "consent")])
    for day, change in updates:
        stamp = world.timestamp(day, seconds(rng))
        if change == "consent":
            record.update(email_marketing_consent=False, ads_consent=False, consent_updated_at=stamp)
        else:
            apply_change(life, rng, record, change, day)
        record["updated_at"] = stamp
        # a change before the window is already part of the first (full history) file
        life.out.row("crm", max(day, first_file_day), dict(record))
    life.out.seen("crm", crm_id, first_file_day)
