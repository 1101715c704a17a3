"""Keep Home Assistant's prekeys fresh, stored before announced, heard by the lock.

Judged by key age (stored in the entry), not by uptime, so a Home Assistant
that restarts every day still rotates every day.  Once per start the lock
hears which prekey we hold: a restored backup, or a lost rotation answer, is
healed before it matters.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_call_later

from .const import COMMAND_TIMEOUT, CONF_IDENTITY, DOMAIN, LOGGER
from .controller import LockClient
from .protocol import ControllerIdentity
from .protocol.rng import system_clock, system_rng
from .protocol.rotation import is_rotation_due, next_check_ms

type CallLock = Callable[[Callable[[LockClient], Awaitable[object]]], Awaitable[object]]
"""Runs one request on the connected lock, failures translated."""


class KeyRotation:
    """Rotates, erases and announces this controller's prekeys on schedule."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        identity: ControllerIdentity,
        call_lock: CallLock,
        connected: Callable[[], bool],
    ) -> None:
        """Bind to the entry that stores the keys and to the way to reach the lock."""
        self._hass = hass
        self._entry = entry
        self.identity = identity
        self._call_lock = call_lock
        self._connected = connected
        self._unsub: CALLBACK_TYPE | None = None
        self._announce_needed = True
        self._stopped = False
        self.next_check_ms: int | None = None

    @property
    def prekey_announced(self) -> bool:
        """Return whether the lock has confirmed our current prekey since start."""
        return not self._announce_needed

    @callback
    def async_lock_answered(self) -> None:
        """Check now if the first check is still to come or the lock has not heard us."""
        if self._unsub is None or self._announce_needed:
            self._schedule(0)

    async def async_rotate(self) -> None:
        """Rotate now; the new key is stored before it is announced."""
        try:
            await self._call_lock(
                lambda client: client.rotate_keys(
                    timeout=COMMAND_TIMEOUT, store=lambda _identity: self._persist()
                )
            )
        except HomeAssistantError:
            # Stored but perhaps not heard: say it again at the next check.
            self._announce_needed = True
            raise
        self._announce_needed = False
        # Expired keys were erased after the answer.
        self._persist()

    async def async_check(self) -> None:
        """Erase expired keys, rotate if the newest is a day old, re-announce if unheard."""
        now = system_clock()
        try:
            if not self._connected():
                # Age rules even while the lock is away; announced once back.
                if self.identity.erase_expired_prekeys(now):
                    self._persist()
                if is_rotation_due(self.identity, now):
                    self.identity.rotate_prekeys(system_rng, now)
                    self._persist()
                    self._announce_needed = True
            else:
                announce, self._announce_needed = self._announce_needed, True
                await self._call_lock(
                    lambda client: client.maintain_prekeys(
                        announce=announce,
                        store=lambda _identity: self._persist(),
                        timeout=COMMAND_TIMEOUT,
                    )
                )
                self._announce_needed = False
        except HomeAssistantError as err:
            # The key stays valid meanwhile; tried again at the next check.
            LOGGER.warning("Key rotation for %s failed: %s", self._entry.title, err)
        finally:
            if not self._stopped:
                self._schedule()

    @callback
    def _schedule(self, delay_ms: int | None = None) -> None:
        """Look again when our newest prekey turns a day old or an old one expires."""
        if self._unsub is not None:
            self._unsub()
        now = system_clock()
        self.next_check_ms = (
            now + delay_ms
            if delay_ms is not None
            else next_check_ms(self.identity, now)
        )
        self._unsub = async_call_later(
            self._hass, (self.next_check_ms - now) / 1000, self._check_due
        )

    @callback
    def _check_due(self, _now: datetime) -> None:
        self._entry.async_create_background_task(
            self._hass, self.async_check(), f"{DOMAIN} key rotation"
        )

    @callback
    def _persist(self) -> None:
        """Write rotated private keys to the entry (the only place they live)."""
        self._hass.config_entries.async_update_entry(
            self._entry,
            data={**self._entry.data, CONF_IDENTITY: self.identity.to_bytes().hex()},
        )

    @callback
    def async_stop(self) -> None:
        """Cancel the next check."""
        self._stopped = True
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
