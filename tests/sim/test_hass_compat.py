"""The MQTT link runs inside Home Assistant's test harness without leftovers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from homeassistant.core import HomeAssistant

from .conftest import LOCK_A, LinkFactory


async def test_link_in_hass_leaves_no_tasks_timers_or_threads(
    hass: HomeAssistant, links: LinkFactory, grant: Callable[..., None]
) -> None:
    """Connect, exchange a frame and close inside the hass loop; the harness checks cleanup."""
    grant(LOCK_A)
    lock = links.lock(LOCK_A)
    controller = links.controller(LOCK_A)
    await lock.connect()
    await controller.connect()
    await controller.send(b"ping")
    async with asyncio.timeout(5):
        assert await lock.receive() == b"ping"
    await lock.close()
    await controller.close()
