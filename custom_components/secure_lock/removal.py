"""Removing an entry: the lock forgets this controller before the keys go."""

from __future__ import annotations

import asyncio

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.storage import Store

from .const import LOGGER
from .controller import ControllerError, LockClient
from .controller.links import open_link
from .coordinator import SecureLockConfigEntry, session_store
from .entry_data import link_settings, load_identity, paired_lock_from_entry
from .issues import LockIssue, async_report_issue, async_withdraw_all_issues
from .protocol import ProtocolError
from .transport import TransportError

UNPAIR_TIMEOUT = 10.0


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
    try:
        await _async_revoke_ourselves(hass, entry, store)
    except (ControllerError, TransportError, ProtocolError, TimeoutError) as err:
        LOGGER.warning(
            "Could not tell lock %s to forget Home Assistant (%s)",
            entry.title,
            type(err).__name__,
        )
        async_report_issue(
            hass, LockIssue.UNPAIR_FAILED, entry.unique_id, {"name": entry.title}
        )
    await store.async_remove()


async def _async_revoke_ourselves(
    hass: HomeAssistant, entry: SecureLockConfigEntry, store: Store[dict[str, str]]
) -> None:
    identity = load_identity(entry)
    paired_lock = paired_lock_from_entry(entry, await store.async_load())
    settings = link_settings(entry)
    async with asyncio.timeout(UNPAIR_TIMEOUT):
        last_error: TransportError | None = None
        for kind in settings.order():
            try:
                link = await open_link(
                    settings, kind, session=async_get_clientsession(hass)
                )
            except TransportError as err:
                last_error = err
                continue
            client = LockClient(link, identity, paired_lock)
            await client.start()
            try:
                await client.remove_controller(identity.key_id)
            finally:
                await client.close()
                await link.close()
            LOGGER.info("Lock %s no longer knows Home Assistant", entry.title)
            return
        assert last_error is not None
        raise last_error
