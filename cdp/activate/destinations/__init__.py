"""Destinations, one module each; the module name is the `destination:` of a sync spec.

Adding a destination = one new module here defining `DESTINATION` (a `Destination`
subclass) + its test against a local fake of the API.

This package's own module imports no destination (nor `base`): the sync specs import it to
check a destination's name, and `base` imports the specs.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

from cdp.errors import CdpError

if TYPE_CHECKING:
    from cdp.activate.destinations.base import Destination


def available() -> list[str]:
    return sorted(module.name for module in pkgutil.iter_modules(__path__) if module.name != "base")


def destination_class(name: str) -> type[Destination]:
    """The destination class declared by module `name`."""
    if name not in available():
        raise CdpError(f"destination {name!r} is unknown; available: {', '.join(available())}")
    module = importlib.import_module(f"{__name__}.{name}")
    return module.DESTINATION
