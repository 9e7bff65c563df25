"""The mobile app's event stream: logged-in sessions on a device, with orders."""

from __future__ import annotations

from cdp.demo import world
from cdp.demo.sources import shop
from cdp.demo.sources.common import quiet_after_story, seconds, tracked_event


def event(life, rng, day, second, device, user_id, event_type, os_name, screen, product=None, category=None):
    version = world.APP_VERSIONS[min(day // 60, len(world.APP_VERSIONS) - 1) if day >= 0 else 0]
    head = (user_id, event_type, product, category)
    tracked_event(
        life, rng, "app", day, second, ("device_id", device), head, screen=screen, os=os_name, app_version=version
    )


def session(life, plan, rng, day, device, customer_id, os_name, category, login, browse_only=False):
    """A login (first time on the device) or a push open, a category and products, sometimes an order."""
    second = seconds(rng)
    if login:
        event(life, rng, day, second, device, customer_id, "login", os_name, "login")
    elif rng.random() < 0.2:
        event(life, rng, day, second, device, customer_id, "push_open", os_name, "home")
    screen = f"category/{category}"
    event(life, rng, day, second + 5, device, customer_id, "screen_view", os_name, screen, category=category)
    products = world.PRODUCTS_BY_CATEGORY[category]
    viewed = [rng.choice(products) for _ in range(1 + int(rng.expovariate(0.6)))]
    for product in viewed:
        second += rng.randint(10, 120)
        event(life, rng, day, second, device, customer_id, "product_view", os_name, "product", product)
    if not browse_only and not quiet_after_story(plan, day) and rng.random() < 0.12:
        second += rng.randint(10, 120)
        event(life, rng, day, second, device, customer_id, "add_to_cart", os_name, "cart", viewed[-1])
        second += rng.randint(30, 300)
        event(life, rng, day, second, device, customer_id, "order_completed", os_name, "checkout", viewed[-1])
        shop.order(life, plan, rng, day, second, customer_id, [viewed[-1]])
