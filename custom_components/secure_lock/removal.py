"""Removing an entry: the lock forgets this controller before the keys go."""

from __future__ import annotations

import asyncio

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .const import LOGGER
from .controller.connection import ConnectionListener, ConnectionTimings, LockConnection
from .entry_data import (
    link_settings,
    load_identity,
    paired_lock_from_entry,
    session_store,
)
from .issues import LockIssue, async_report_issue, async_withdraw_all_issues
from .protocol import SecureLockError
from .runtime import SecureLockConfigEntry

UNPAIR_TIMEOUT = 20.0
"""The whole attempt, every path included; removal waits for it."""
UNPAIR_TIMINGS = ConnectionTimings(answer_timeout=5.0)
"""A silent path is given up sooner than in normal use, so the next one is tried."""


class _Unpairing(ConnectionListener):
    """Nothing to show while unpairing: every report is ignored."""


async def async_unpair_on_removal(
    hass: HomeAssistant, entry: SecureLockConfigEntry
) -> None:
    """Revoke our own key on the lock (best effort), then delete what we kept.

    A lock that cannot be reached keeps listing this controller; the repair
    issue tells the user to remove it with another admin, because the keys
    are gone after this and nothing could use them again.
    """
    # Whatever was reported about this lock no longer applies.
    assert entry.unique_id is not None
    async_withdraw_all_issues(hass, entry.unique_id)
    store = session_store(hass, entry.entry_id)
    identity = load_identity(entry)
    connection = LockConnection(
        link_settings(entry),
        identity,
        paired_lock_from_entry(entry, await store.async_load()),
        _Unpairing(),
        session=async_get_clientsession(hass),
        timings=UNPAIR_TIMINGS,
    )
    try:
        async with asyncio.timeout(UNPAIR_TIMEOUT):
            client = await connection.connect()
            await client.remove_controller(identity.key_id)
    except (SecureLockError, TimeoutError) as err:
        LOGGER.warning(
            "Could not tell lock %s to forget Home Assistant (%s)",
            entry.title,
            type(err).__name__,
        )
        async_report_issue(
            hass, LockIssue.UNPAIR_FAILED, entry.unique_id, {"name": entry.title}
        )
    else:
        LOGGER.info("Lock %s no longer knows Home Assistant", entry.title)
    finally:
        await connection.stop()
    await store.async_remove()
