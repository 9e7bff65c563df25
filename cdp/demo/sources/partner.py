"""The second-party partner: campaign responses keyed by hashed email, delivered weekly."""

from __future__ import annotations

from cdp.demo import world
from cdp.demo.sources.common import Life, Plan, record_id, seconds, sha256


def responses(life: Life, plan: Plan) -> None:
    if not plan.partner:
        return
    rng = life.strands["partner"]
    day = max(life.person.arrival_day, 0) + int(rng.expovariate(1 / 40))
    while day <= life.hi:
        response_id = record_id("R", rng)
        file_day = world.next_delivery_day(day, world.PARTNER_DELIVERY_WEEKDAY)
        row = {
            "response_id": response_id,
            "email_sha256": sha256(life.person.email),
            "campaign": rng.choice(world.PARTNER_CAMPAIGNS),
            "response": rng.choice(("clicked", "converted", "ignored", "ignored")),
            "interest": rng.choice(world.INTERESTS),
            "responded_at": world.timestamp(day, seconds(rng)),
        }
        life.out.row("partner", file_day, row)
        life.out.seen("partner", response_id, file_day)
        day += 1 + int(rng.expovariate(1 / 40))
