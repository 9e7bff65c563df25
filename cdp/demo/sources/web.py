"""The website's event stream: anonymous visitors, sign-ups, sessions, carts and info requests."""

from __future__ import annotations

import random

from cdp.demo import messy, world
from cdp.demo.sources import shop
from cdp.demo.sources.common import Life, event_uuid, seconds, tracked_event

SITE = "https://shop.example.com"


def visitor(life: Life) -> None:
    """Browses the website, never logs in or leaves an email: a person of their own.

    One cookie only: two cookies that never identify are two visitors to anyone, the truth included.
    """
    rng = life.strands["sessions"]
    cookies = [event_uuid(rng)]
    day = max(life.person.arrival_day, 0) + int(rng.expovariate(0.05))
    while day <= life.hi:
        cookie = rng.choice(cookies)
        session(life, rng, day, cookie, None, rng.choice(tuple(world.CATEGORIES)), purchase=False)
        day += 1 + int(rng.expovariate(0.04))


def event(
    life, rng, day, second, cookie, user_id, event_type, product=None, category=None, url=None, utm=None, email=None
):
    head = (user_id, event_type, product, category)
    page_url = url or (f"{SITE}/p/{product.product_id}" if product else f"{SITE}/")
    utm_source, utm_medium, utm_campaign = utm or (None, None, None)
    tracked_event(
        life,
        rng,
        "web",
        day,
        second,
        ("anonymous_id", cookie),
        head,
        page_url=page_url,
        utm_source=utm_source,
        utm_medium=utm_medium,
        utm_campaign=utm_campaign,
        email=email,
    )


def signup(life: Life, rng: random.Random, day: int, cookie: str, customer_id: str) -> None:
    second = seconds(rng)
    event(life, rng, day, second, cookie, None, "page_view", url=f"{SITE}/signup")
    email = messy.email(rng, life.rates, life.person)
    event(life, rng, day, second + 40, cookie, customer_id, "signup", url=f"{SITE}/signup", email=email)


def session(life, rng, day, cookie, user_id, category, purchase, plan=None, info_request=False, story_product=None):
    """A visit: landing (after a login), product views, then an info request or a cart."""
    second = _landing(life, rng, day, cookie, user_id, category)
    products = world.PRODUCTS_BY_CATEGORY[category]
    viewed = [rng.choice(products) for _ in range(1 + int(rng.expovariate(0.7)))]  # drawn for the story too
    if story_product is not None:
        viewed = [story_product]
    for product in viewed:
        second += rng.randint(10, 180)
        event(life, rng, day, second, cookie, user_id, "product_view", product)
    if info_request:
        _info_request(life, rng, day, second, cookie, viewed[-1])
    else:
        _cart(life, plan, rng, day, second, cookie, user_id, viewed[-1], purchase, story=story_product is not None)


def _landing(life, rng, day, cookie, user_id, category) -> int:
    """The login (for a known user) and the category page; returns the second reached."""
    second = seconds(rng)
    utm = rng.choice(world.UTM_CAMPAIGNS) if rng.random() < 0.3 else None
    if user_id:
        event(life, rng, day, second, cookie, user_id, "login", url=f"{SITE}/login", utm=utm)
        second += rng.randint(5, 60)
        utm = None
    event(life, rng, day, second, cookie, user_id, "page_view", category=category, url=f"{SITE}/c/{category}", utm=utm)
    return second


def _info_request(life, rng, day, second, cookie, product) -> None:
    second += rng.randint(10, 120)
    # the email is the only identifier here, so no Gmail re-spelling (it would not link)
    email = messy.maybe(rng, life.rates.odd_case_whitespace, messy.odd_case_whitespace, life.person.email)
    event(life, rng, day, second, cookie, None, "info_request", product, url=f"{SITE}/contact", email=email)


def _cart(life, plan, rng, day, second, cookie, user_id, product, purchase, story) -> None:
    """Into the cart at times; a logged-in buyer checks out, a few take it out again; the story abandons it."""
    intent = rng.random()
    if not (story or intent < 0.35):
        return
    second += rng.randint(10, 120)
    event(life, rng, day, second, cookie, user_id, "add_to_cart", product)
    if story:
        return
    if purchase and user_id and intent < 0.2:
        second += rng.randint(30, 300)
        event(life, rng, day, second, cookie, user_id, "checkout_started", product)
        second += rng.randint(30, 300)
        event(life, rng, day, second, cookie, user_id, "order_completed", product)
        shop.order(life, plan, rng, day, second, user_id, [product])
    elif intent < 0.05:
        second += rng.randint(10, 120)
        event(life, rng, day, second, cookie, user_id, "remove_from_cart", product)
