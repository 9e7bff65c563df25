"""The third-party data broker: one enrichment record per person, delivered on a Monday."""

from __future__ import annotations

from cdp.demo import messy, world
from cdp.demo.sources.common import Life, Plan, record_id, sha256


def enrichment(life: Life, plan: Plan) -> None:
    if not plan.broker:
        return
    rng, person = life.strands["broker"], life.person
    day = world.next_delivery_day(max(person.arrival_day, 0) + rng.randint(0, 90), world.BROKER_DELIVERY_WEEKDAY)
    broker_record_id = record_id("B", rng)
    first, last = messy.names(rng, life.rates, person, day)
    # the broker's email hash joins through the subscriber list; without it, name + postcode
    # join through a shop account or CRM contact (a person with neither gets no broker record)
    with_email = plan.subscriber and rng.random() < 0.6
    if not (with_email or plan.shop or plan.crm):
        return
    age = world.day_date(day).year - person.date_of_birth.year
    row = {
        "broker_record_id": broker_record_id,
        "email_sha256": sha256(person.email) if with_email else None,
        "first_name": first,
        "last_name": last,
        "postcode": person.address_on(day).postcode,
        "country": person.country,
        "age_band": f"{age // 10 * 10}-{age // 10 * 10 + 9}",
        "income_band": rng.choice(("low", "lower_middle", "middle", "upper_middle", "high")),
        "interests": ",".join(sorted(rng.sample(world.INTERESTS, rng.randint(1, 3)))),
        "delivered_at": world.timestamp(day, 6 * 3600),
    }
    if day <= life.hi:
        life.out.row("broker", day, row)
        life.out.seen("broker", broker_record_id, day)
