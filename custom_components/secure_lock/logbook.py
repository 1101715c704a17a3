"""Logbook lines for the lock's access changes (who joined, how, through whom)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.components.logbook import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_CONTROLLER_JOINED

_HOW = {
    "label": "with the code on the lock's label",
    "invitation": "with an invitation from {invited_by}",
    "admin_add": "added by {invited_by}",
}


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, Any]]], None],
) -> None:
    """Describe the integration's logbook events."""

    @callback
    def describe_join(event: Event) -> dict[str, Any]:
        data = event.data
        how = _HOW.get(str(data.get("method")), "").format(
            invited_by=data.get("invited_by") or "an admin"
        )
        return {
            LOGBOOK_ENTRY_NAME: data.get("lock", "Secure Lock"),
            LOGBOOK_ENTRY_MESSAGE: (
                f"{data.get('name') or 'a controller'} joined as "
                f"{data.get('role')} {how}".strip()
            ),
        }

    async_describe_event(DOMAIN, EVENT_CONTROLLER_JOINED, describe_join)
