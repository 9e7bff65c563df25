"""One person's life story, written into every source that sees it.

`live(person, rates, out)` replays the person's whole life from their own seeded
random streams up to `out.hi` and hands every row to `out`, which keeps only the
rows whose file day lies in `[out.lo, out.hi]`. Replaying instead of storing
state is what makes `advance` cheap to get right: day D+1 of a person is the
same whether the universe was generated up to D and advanced, or generated to
D+1 at once.

Each strand of a life (web sessions, store visits, email, partner, broker...)
draws from its own random stream, so a strand that runs up to `hi` never shifts
the draws of another. What each source writes is in cdp.demo.sources; this
module draws the plan and runs the strands.
"""

from __future__ import annotations

import random

from cdp.demo import world
from cdp.demo.people import Person
from cdp.demo.rates import Rates
from cdp.demo.sources import app, broker, crm, email, partner, pos, shop, web
from cdp.demo.sources.common import Life, Plan, Sink, event_uuid, quiet_after_story, stable_id

STRANDS = ("plan", "shop", "crm", "sessions", "pos", "email", "partner", "broker", "story")


def live(person: Person, rates: Rates, out: Sink, seed: int) -> None:
    rng = person.rng
    life = Life(person, rates, out, seed, {name: random.Random(rng.getrandbits(64)) for name in STRANDS})
    if person.kind == "visitor":
        web.visitor(life)
    elif person.kind == "test":
        shop.test_account(life)
    else:
        plan = _plan(life)
        shop.accounts(life, plan)
        crm.contacts(life, plan)
        _sessions(life, plan)
        pos.store_visits(life, plan)
        email.subscriber(life, plan)
        partner.responses(life, plan)
        broker.enrichment(life, plan)
        if plan.story:
            _journey_story(life, plan)


def _plan(life: Life) -> Plan:
    person, rng = life.person, life.strands["plan"]
    rolls = [rng.random() for _ in range(16)]  # a fixed number of draws whatever the outcome
    story = (
        rolls[0] < life.rates.journey_story
        and person.arrival_day <= world.HISTORY_DAYS - 160  # only persons of the initial universe
    )
    shop_account = story or rolls[1] < 0.7
    store_shopper = story or rolls[4] < 0.4
    carded = story or (store_shopper and rolls[5] < 0.7)
    stores = world.STORES[person.country]
    subscriber = person.owns_email and rolls[11] < 0.5
    erp_account = shop_account and rolls[12] < 0.1
    return Plan(
        shop=shop_account,
        duplicate_shop=shop_account and rolls[2] < life.rates.duplicate_shop_account,
        web_cookies=(1 + int(rolls[3] * 3)) if (shop_account and rolls[6] < 0.9) or story or rolls[6] < 0.3 else 0,
        app_devices=(1 + (rolls[7] < 0.1)) if story or (shop_account and rolls[7] < 0.3) else 0,
        store=stores[int(rolls[8] * len(stores))] if store_shopper else None,
        loyalty_card=stable_id("L", life.seed, "loyalty", person.index, digits=10) if carded else None,
        crm=rolls[9] < 0.6,
        duplicate_crm=rolls[10] < life.rates.duplicate_crm_contact,
        subscriber=subscriber,
        erp_account=stable_id("A", life.seed, "erp", person.index, digits=8) if erp_account else None,
        # hashed emails only join through an exact email elsewhere: partner members are subscribers
        partner=subscriber and rolls[13] < 0.2,
        broker=rolls[14] < 0.2,
        story=story,
        sessions_per_day=rng.choice((0.01, 0.02, 0.04, 0.08)),
        favourite=rng.choice(tuple(world.CATEGORIES)),
        email_consent=rolls[15] < 0.6,
        ads_consent=rolls[15] < 0.4,
    )


def _sessions(life: Life, plan: Plan) -> None:
    """Web and app sessions on the person's cookies and devices, from a sign-up on."""
    rng, person = life.strands["sessions"], life.person
    cookies = [event_uuid(rng) for _ in range(plan.web_cookies)]
    devices = [event_uuid(rng) for _ in range(plan.app_devices)]
    os_name = rng.choice(world.APP_OS)
    customer_id = shop.customer_id(life) if plan.shop else None
    identified: set[str] = set()
    day = max(person.arrival_day, 0)
    if plan.shop and person.arrival_day >= 0 and cookies:
        web.signup(life, rng, day, cookies[0], customer_id)
        identified.add(cookies[0])
        day += 1
    day += int(rng.expovariate(plan.sessions_per_day))
    while day <= life.hi and (cookies or devices):
        category = plan.favourite if rng.random() < 0.6 else rng.choice(tuple(world.CATEGORIES))
        if devices and (not cookies or rng.random() < 0.5):
            device = rng.choice(devices)
            app.session(life, plan, rng, day, device, customer_id, os_name, category, login=device not in identified)
            identified.add(device)
        else:
            cookie = rng.choice(cookies)
            _web_session(life, plan, rng, day, cookie, customer_id, category, must_identify=cookie not in identified)
            identified.add(cookie)
        day += 1 + int(rng.expovariate(plan.sessions_per_day))


def _web_session(life, plan, rng, day, cookie, customer_id, category, must_identify) -> None:
    """Every cookie of an identified person identifies itself in its first session."""
    purchase = plan.shop and not quiet_after_story(plan, day)
    user_id = customer_id if (customer_id and (must_identify or rng.random() < 0.6)) else None
    info_request = must_identify and customer_id is None
    web.session(life, rng, day, cookie, user_id, category, purchase, plan=plan, info_request=info_request)


def _journey_story(life: Life, plan: Plan) -> None:
    """Bought hiking gear in store months ago, browses boots in the app, abandons a boot cart on the web."""
    rng = life.strands["story"]
    today = world.HISTORY_DAYS - 1
    store_day = today - rng.randint(60, 150)
    hiking = [rng.choice(world.PRODUCTS_BY_CATEGORY["hiking"]) for _ in range(2)]
    pos.transaction(life, rng, plan, store_day, "hiking", life.person.email, None, products=hiking)
    customer_id = shop.customer_id(life)
    device = event_uuid(rng)
    os_name = rng.choice(world.APP_OS)
    app.session(life, plan, rng, today - 2, device, customer_id, os_name, "boots", login=True, browse_only=True)
    cookie = event_uuid(rng)
    boot = rng.choice(world.PRODUCTS_BY_CATEGORY["boots"])
    web.session(life, rng, today - 1, cookie, customer_id, "boots", purchase=False, story_product=boot)
