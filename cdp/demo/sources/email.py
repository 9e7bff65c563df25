"""The email platform: the subscriber list and its campaign events (sent, open, click, bounce)."""

from __future__ import annotations

import random

from cdp.demo import world
from cdp.demo.people import event_day
from cdp.demo.sources.common import Life, Plan, emit_event, event_uuid, seconds, stable_id


def subscriber(life: Life, plan: Plan) -> None:
    if not plan.subscriber:
        return
    rng, person = life.strands["email"], life.person
    subscriber_id = stable_id("SUB", life.seed, "email", person.index)
    created = person.arrival_day + rng.randint(0, 30)
    if created > life.hi:
        return
    subscribed_at = world.timestamp(created, seconds(rng))
    first_file_day = max(created, 0)
    unsubscribe = event_day(rng, first_file_day, life.rates.unsubscribes)
    row = {
        "subscriber_id": subscriber_id,
        "email": person.email,
        "status": "subscribed",
        "subscribed_at": subscribed_at,
        "unsubscribed_at": None,
        "updated_at": subscribed_at,
    }
    life.out.row("email_subscribers", first_file_day, dict(row))
    life.out.seen("email", subscriber_id, first_file_day)
    campaign = first_file_day + (-first_file_day) % world.EMAIL_CAMPAIGN_EVERY_DAYS
    while campaign <= min(life.hi, unsubscribe - 1):
        _campaign_events(life, rng, campaign)
        campaign += world.EMAIL_CAMPAIGN_EVERY_DAYS
    if unsubscribe <= life.hi:
        stamp = world.timestamp(unsubscribe, seconds(rng))
        row.update(status="unsubscribed", unsubscribed_at=stamp, updated_at=stamp)
        life.out.row("email_subscribers", unsubscribe, row)
        _event(life, rng, unsubscribe, "unsubscribe", None, stamp)


def _campaign_events(life: Life, rng: random.Random, day: int) -> None:
    campaign_id = f"CMP-{world.day_date(day).isoformat()}"
    second = 9 * 3600 + rng.randint(0, 600)
    steps = ["sent"]
    roll = rng.random()
    if roll < 0.01:
        steps.append("bounce")
    elif roll < 0.35:
        steps.append("open")
        if roll < 0.10:
            steps.append("click")
    for step in steps:
        _event(life, rng, day, step, campaign_id, world.timestamp(day, second))
        second += rng.randint(60, 6 * 3600)


def _event(life: Life, rng: random.Random, day: int, event_type: str, campaign_id: str | None, stamp: str) -> None:
    row = {
        "event_id": event_uuid(rng),
        "email": life.person.email,
        "event_type": event_type,
        "campaign_id": campaign_id,
        "occurred_at": stamp,
    }
    emit_event(life, rng, "email_events", day, row)
