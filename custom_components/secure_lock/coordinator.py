"""One paired lock's link, its verified state, and the counters kept for it.

The lock pushes signed events and heartbeats; nothing here polls.  What the
entities show is only ever what the lock signed: a command in flight shows a
transition, and a relay that withholds traffic makes the entities unavailable
after `UNAVAILABLE_AFTER` instead of leaving a stale "locked" on screen.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, HomeAssistantError
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import (
    CLOCK_SKEW_REPAIR_MS,
    COMMAND_TIMEOUT,
    CONF_IDENTITY,
    DOMAIN,
    EVENT_CONTROLLER_JOINED,
    LOGGER,
    UNAVAILABLE_AFTER,
    UNREACHABLE_REPAIR_AFTER,
)
from .controller import (
    CommandRefused,
    CommandTimeout,
    ControllerError,
    LinkUnavailable,
    LockClient,
    LockReport,
)
from .controller.invitations import IssuedInvitation
from .controller.links import LinkKind, LinkSettings, open_link
from .entry_data import link_settings, load_identity, paired_lock_from_entry
from .issues import LockIssue, async_report_issue, async_withdraw_issue
from .protocol import (
    ControllerIdentity,
    ControllerJoined,
    Event,
    EventSource,
    EventType,
    MessageKind,
    PairedLock,
    ProtocolError,
    ResultCode,
    Role,
)
from .protocol.rng import system_clock, system_rng
from .protocol.rotation import is_rotation_due, next_check_ms
from .protocol.state import LockStatus
from .transport import Backoff, TransportError

STORE_VERSION = 1
STORE_SAVE_DELAY = 1.0
"""Seconds to coalesce counter updates (an event and a result often arrive together).

Losing the last second of counters in a crash is harmless: our send counters
are seeded from the wall clock, and a lock frame replayed after a restart is
still bound by its 30 s expiry.
"""

type SecureLockConfigEntry = ConfigEntry[SecureLockCoordinator]


@dataclass(frozen=True, slots=True)
class LockSnapshot:
    """What the lock last signed, and what it tells the entities."""

    status: LockStatus
    changed_by: str | None = None
    event: Event | None = None
    event_serial: int = 0
    """Counts verified events, so listeners can tell a new one from a repeat."""
    link: LinkKind | None = None


def changed_by(event: Event) -> str | None:
    """Return who or what operated the lock, as `changed_by` shows it."""
    match event.source:
        case EventSource.CONTROLLER:
            return event.controller_name or None
        case EventSource.MANUAL:
            return "manual"
        case EventSource.KEYPAD:
            return "keypad"
        case EventSource.AUTO_RELOCK:
            return "auto_relock"
    return None


def session_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, str]]:
    """Return the store that keeps this entry's counters and the lock's prekeys."""
    return Store(hass, STORE_VERSION, f"{DOMAIN}.{entry_id}", private=True)


class SecureLockCoordinator(DataUpdateCoordinator[LockSnapshot]):
    """Keeps a verified session with one lock and shares its state."""

    config_entry: SecureLockConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SecureLockConfigEntry,
        identity: ControllerIdentity,
        paired_lock: PairedLock,
        store: Store[dict[str, str]],
    ) -> None:
        """Prepare; `async_config_entry_first_refresh` connects."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=None,
            always_update=False,
        )
        self.identity = identity
        self.paired_lock = paired_lock
        self.settings: LinkSettings = link_settings(entry)
        self.client: LockClient | None = None
        self._store = store
        self._backoff = Backoff(initial=1.0, maximum=60.0)
        self._unsub_watchdog: CALLBACK_TYPE | None = None
        self._unsub_reconnect: CALLBACK_TYPE | None = None
        self._unsub_rotation: CALLBACK_TYPE | None = None
        # Once per start the lock hears which prekey we hold: a restored
        # backup, or a lost rotation answer, is healed before it matters.
        self._announce_needed = True
        self.next_rotation_check_ms: int | None = None
        self._event_serial = 0
        self.join_serial = 0
        """Counts the join notices seen; the activity entity fires on a change."""
        self.last_join: ControllerJoined | None = None
        self._changed_by: str | None = None
        self._link = LinkKind.LAN
        # Time spent waiting between failed tries since the link was lost:
        # the event loop's timers are the clock here (tests can drive them).
        self._unreachable_for = timedelta()

    @classmethod
    async def async_create(
        cls, hass: HomeAssistant, entry: SecureLockConfigEntry
    ) -> SecureLockCoordinator:
        """Load keys from the entry and counters from storage."""
        store = session_store(hass, entry.entry_id)
        stored = await store.async_load()
        return cls(
            hass,
            entry,
            load_identity(entry),
            paired_lock_from_entry(entry, stored),
            store,
        )

    @property
    def lock_id(self) -> str:
        """Return the lock id as hex (the entry's unique id)."""
        return self.paired_lock.lock_id.hex()

    @property
    def link_kind(self) -> LinkKind | None:
        """Return the path currently in use, if connected."""
        return self.data.link if self.data is not None else None

    # Connecting ----------------------------------------------------------------

    async def _async_connect(self) -> LockClient:
        """Open the first reachable path, preferred one first."""
        if self.client is not None:
            return self.client
        failures: list[str] = []
        for kind in self.settings.order():
            try:
                link = await open_link(
                    self.settings, kind, session=async_get_clientsession(self.hass)
                )
            except TransportError as err:
                failures.append(f"{kind.value}: {err}")
                continue
            client = LockClient(
                link,
                self.identity,
                self.paired_lock,
                on_update=self._handle_update,
                on_persist=self._persist,
                on_clock_skew=self._handle_clock_skew,
            )
            await client.start()
            self.client = client
            self._link = kind
            self.config_entry.async_create_background_task(
                self.hass, self._watch_link(client), f"{DOMAIN} link watch"
            )
            LOGGER.debug("Connected to lock %s over %s", self.lock_id, kind.value)
            self._unreachable_for = timedelta()
            async_withdraw_issue(self.hass, LockIssue.UNREACHABLE, self.lock_id)
            return client
        raise UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"reason": "; ".join(failures)},
        )

    async def _watch_link(self, client: LockClient) -> None:
        """Reconnect when the link drops (the MQTT link also retries on its own)."""
        await client.wait_closed()
        if self.client is not client:
            return
        self.client = None
        await client.close()
        await client.link.close()
        if self._shutdown_requested:
            return
        LOGGER.debug("Link to lock %s lost; reconnecting", self.lock_id)
        self._unreachable_for = timedelta()
        self._schedule_reconnect()

    @callback
    def _schedule_reconnect(self) -> None:
        delay = self._backoff.next_delay()
        self._unreachable_for += timedelta(seconds=delay)
        self._unsub_reconnect = async_call_later(self.hass, delay, self._reconnect)

    @callback
    def _reconnect(self, _now: datetime) -> None:
        self._unsub_reconnect = None
        self.config_entry.async_create_background_task(
            self.hass, self._async_reconnect(), f"{DOMAIN} reconnect"
        )

    async def _async_reconnect(self) -> None:
        if self._shutdown_requested:
            return
        try:
            await self._async_connect()
        except UpdateFailed as err:
            self._report_if_unreachable_for_long(err)
            self._schedule_reconnect()
            return
        self._backoff.reset()
        # Events may have been missed while away: ask for the signed state.
        await self.async_request_refresh()

    # Updates -----------------------------------------------------------------

    async def _async_update_data(self) -> LockSnapshot:
        """Ask the lock for its signed state (first refresh and reconnects)."""
        client = await self._async_connect()
        try:
            result = await client.status(timeout=COMMAND_TIMEOUT)
        except CommandRefused as err:
            if err.code is ResultCode.REVOKED:
                raise ConfigEntryAuthFailed(
                    translation_domain=DOMAIN, translation_key="revoked"
                ) from err
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="refused",
                translation_placeholders={"reason": err.code.name.lower()},
            ) from err
        except (CommandTimeout, LinkUnavailable) as err:
            raise UpdateFailed(
                translation_domain=DOMAIN, translation_key="timeout"
            ) from err
        self._arm_watchdog()
        if self._unsub_rotation is None or self._announce_needed:
            self._schedule_rotation_check(0)
        return self._snapshot(result.status)

    def _snapshot(self, status: LockStatus, event: Event | None = None) -> LockSnapshot:
        return LockSnapshot(
            status=status,
            changed_by=self._changed_by,
            event=event,
            event_serial=self._event_serial,
            link=self._link if self.client is not None else None,
        )

    @callback
    def _report_if_unreachable_for_long(self, err: UpdateFailed) -> None:
        """After a lasting outage, tell the user why each path fails."""
        away = self._unreachable_for
        if away < UNREACHABLE_REPAIR_AFTER:
            return
        async_report_issue(
            self.hass,
            LockIssue.UNREACHABLE,
            self.lock_id,
            {
                "name": self.config_entry.title,
                "minutes": str(int(away.total_seconds() // 60)),
                "reason": (err.translation_placeholders or {}).get("reason", ""),
            },
            severity=ir.IssueSeverity.ERROR,
        )

    @callback
    def _handle_update(self, update: LockReport) -> None:
        """Take one verified state report from the lock."""
        if update.joined is not None:
            self._announce_join(update.joined)
            return
        event = update.event
        if event is not None:
            self._event_serial += 1
            if event.event is EventType.STATE_CHANGED:
                self._changed_by = changed_by(event)
        if not self.last_update_success:
            LOGGER.info("Lock %s is reachable again", self.config_entry.title)
            # Our lock answered with its own keys: it was not replaced after all.
            async_withdraw_issue(self.hass, LockIssue.LOCK_REPLACED, self.lock_id)
        self._arm_watchdog()
        self._check_clock()
        if self.data is not None and (
            update.status.firmware_version != self.data.status.firmware_version
        ):
            self._update_device_firmware(update.status.firmware_version)
        self.async_set_updated_data(self._snapshot(update.status, event))

    @callback
    def _announce_join(self, notice: ControllerJoined) -> None:
        """Tell Home Assistant (activity, logbook, automations) that someone joined."""
        self.join_serial += 1
        self.last_join = notice
        self.async_update_listeners()
        self.hass.bus.async_fire(
            EVENT_CONTROLLER_JOINED,
            {
                "config_entry_id": self.config_entry.entry_id,
                "lock": self.config_entry.title,
                "controller_id": notice.controller.controller_id.hex(),
                "name": notice.controller.name,
                "role": notice.controller.role.name.lower(),
                "method": notice.method.name.lower(),
                "invited_by": notice.invited_by_name,
            },
        )

    async def async_create_invitation(
        self, role: Role, valid_for: timedelta | None
    ) -> IssuedInvitation:
        """Have the lock open a one-time invitation; return the code to hand out."""
        client = self.require_client()
        now_ms = client.endpoint.lock_time()
        until_ms = now_ms + int(valid_for.total_seconds() * 1000) if valid_for else 0
        return await self.async_call(
            lambda c: c.create_invitation(
                role, valid_from_ms=now_ms if until_ms else 0, valid_until_ms=until_ms
            )
        )

    async def async_revoke_invitation(self, invitation_id: bytes) -> None:
        """Withdraw an invitation that was not used yet."""
        await self.async_call(lambda c: c.revoke_invitation(invitation_id))

    @callback
    def _update_device_firmware(self, version: str) -> None:
        registry = dr.async_get(self.hass)
        for device in dr.async_entries_for_config_entry(
            registry, self.config_entry.entry_id
        ):
            registry.async_update_device(device.id, sw_version=version or None)

    @callback
    def _arm_watchdog(self) -> None:
        if self._unsub_watchdog is not None:
            self._unsub_watchdog()
        self._unsub_watchdog = async_call_later(
            self.hass, UNAVAILABLE_AFTER, self._watchdog_expired
        )

    @callback
    def _watchdog_expired(self, _now: datetime) -> None:
        self._unsub_watchdog = None
        # DataUpdateCoordinator logs this once, and the recovery in
        # _handle_update once: one line when it goes, one when it is back.
        self.async_set_update_error(
            UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="no_heartbeat",
                translation_placeholders={
                    "seconds": str(int(UNAVAILABLE_AFTER.total_seconds()))
                },
            )
        )
        if self.client is not None:
            # The relay may withhold heartbeats only; a signed answer to a
            # fresh request is as good as one.
            self.config_entry.async_create_background_task(
                self.hass, self.async_request_refresh(), f"{DOMAIN} status check"
            )

    @callback
    def _check_clock(self) -> None:
        """Report a lock clock that is far off, and withdraw it once it is not."""
        offset_ms = self.paired_lock.clock_offset_ms
        if abs(offset_ms) > CLOCK_SKEW_REPAIR_MS:
            self._report_clock("clock_skew", offset_ms)
        else:
            async_withdraw_issue(self.hass, LockIssue.CLOCK_SKEW, self.lock_id)

    @callback
    def _handle_clock_skew(self, sample_ms: int) -> None:
        """Report authentic lock frames stamped outside the window, and which way."""
        behind_by_ms = self.paired_lock.clock_offset_ms - sample_ms
        if behind_by_ms > 0:
            self._report_clock("clock_behind", behind_by_ms)
        else:
            self._report_clock("clock_skew", sample_ms)

    @callback
    def _report_clock(self, translation_key: str, offset_ms: int) -> None:
        async_report_issue(
            self.hass,
            LockIssue.CLOCK_SKEW,
            self.lock_id,
            {
                "name": self.config_entry.title,
                "seconds": str(round(offset_ms / 1000)),
            },
            translation_key=translation_key,
        )

    # Persistence ---------------------------------------------------------------

    @callback
    def _persist(self, paired_lock: PairedLock) -> None:
        self.paired_lock = paired_lock
        self._store.async_delay_save(self._stored_data, STORE_SAVE_DELAY)

    def _stored_data(self) -> dict[str, str]:
        return {"paired_lock": self.paired_lock.to_bytes().hex()}

    @callback
    def _persist_identity(self) -> None:
        """Write rotated private keys to the entry (the only place they live)."""
        self.hass.config_entries.async_update_entry(
            self.config_entry,
            data={
                **self.config_entry.data,
                CONF_IDENTITY: self.identity.to_bytes().hex(),
            },
        )

    # Commands ----------------------------------------------------------------

    def require_client(self) -> LockClient:
        """Return the connected client or raise a translated error."""
        if self.client is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="not_connected",
                translation_placeholders={"name": self.config_entry.title},
            )
        return self.client

    async def async_command(self, kind: MessageKind) -> None:
        """Send lock, unlock or open; return once the lock confirmed it, signed."""
        await self.async_call(
            lambda client: client.command(kind, timeout=COMMAND_TIMEOUT)
        )

    async def async_call[T](self, request: Callable[[LockClient], Awaitable[T]]) -> T:
        """Run one request and turn controller failures into translated errors."""
        client = self.require_client()
        try:
            result = await request(client)
        except CommandRefused as err:
            if err.code is ResultCode.REVOKED:
                self.config_entry.async_start_reauth(self.hass)
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key=_REFUSAL_KEYS.get(err.code, "refused"),
                translation_placeholders={"reason": err.code.name.lower()},
            ) from err
        except CommandTimeout as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="timeout"
            ) from err
        except LinkUnavailable as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="not_connected",
                translation_placeholders={"name": self.config_entry.title},
            ) from err
        except (ControllerError, ProtocolError) as err:
            # E.g. an audit log whose hash chain does not verify.
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="protocol_error"
            ) from err
        return result

    async def async_rotate_keys(self) -> None:
        """Rotate this controller's prekey; the new key is stored before it is announced."""
        try:
            await self.async_call(
                lambda client: client.rotate_keys(
                    timeout=COMMAND_TIMEOUT,
                    store=lambda _identity: self._persist_identity(),
                )
            )
        except HomeAssistantError:
            # Stored but perhaps not heard: say it again at the next check.
            self._announce_needed = True
            raise
        self._announce_needed = False
        # Expired keys were erased after the answer.
        self._persist_identity()

    @callback
    def _schedule_rotation_check(self, delay_ms: int | None = None) -> None:
        """Look again when our newest prekey turns a day old or an old one expires."""
        if self._unsub_rotation is not None:
            self._unsub_rotation()
        now = system_clock()
        self.next_rotation_check_ms = (
            now + delay_ms
            if delay_ms is not None
            else next_check_ms(self.identity, now)
        )
        self._unsub_rotation = async_call_later(
            self.hass,
            (self.next_rotation_check_ms - now) / 1000,
            self._rotation_check_due,
        )

    @callback
    def _rotation_check_due(self, _now: datetime) -> None:
        self.config_entry.async_create_background_task(
            self.hass, self.async_rotation_check(), f"{DOMAIN} key rotation"
        )

    @property
    def prekey_announced(self) -> bool:
        """Return whether the lock has confirmed our current prekey since start."""
        return not self._announce_needed

    async def async_rotation_check(self) -> None:
        """Erase expired keys, rotate if the newest is a day old, re-announce if unheard.

        Judged by key age (stored in the entry), not by uptime, so a Home
        Assistant that restarts every day still rotates every day.
        """
        now = system_clock()
        try:
            if self.client is None:
                # Age rules even while the lock is away; announced once back.
                if self.identity.erase_expired_prekeys(now):
                    self._persist_identity()
                if is_rotation_due(self.identity, now):
                    self.identity.rotate_prekeys(system_rng, now)
                    self._persist_identity()
                    self._announce_needed = True
            else:
                announce, self._announce_needed = self._announce_needed, True
                await self.async_call(
                    lambda client: client.maintain_prekeys(
                        announce=announce,
                        store=lambda _identity: self._persist_identity(),
                        timeout=COMMAND_TIMEOUT,
                    )
                )
                self._announce_needed = False
        except HomeAssistantError as err:
            # The key stays valid meanwhile; tried again at the next check.
            LOGGER.warning(
                "Key rotation for %s failed: %s", self.config_entry.title, err
            )
        finally:
            if not self._shutdown_requested:
                self._schedule_rotation_check()

    # Shutdown ----------------------------------------------------------------

    async def async_shutdown(self) -> None:
        """Stop timers and close the link; counters are flushed to storage."""
        await super().async_shutdown()
        for unsub in (self._unsub_watchdog, self._unsub_reconnect):
            if unsub is not None:
                unsub()
        self._unsub_watchdog = self._unsub_reconnect = None
        if self._unsub_rotation is not None:
            self._unsub_rotation()
            self._unsub_rotation = None
        client, self.client = self.client, None
        if client is not None:
            await client.close()
            await client.link.close()
        await self._store.async_save(self._stored_data())

    def diagnostics(self) -> dict[str, Any]:
        """Return what helps debugging; fingerprints, never keys."""
        lock = self.paired_lock
        return {
            "lock_id": lock.lock_id.hex(),
            "lock_key_id": lock.bundle.key_id.hex(),
            "controller_id": self.identity.key_id.hex(),
            "suite": lock.suite.name,
            "role": lock.role.name.lower(),
            "link": self.link_kind.value if self.link_kind else None,
            "paths": [kind.value for kind in self.settings.order()],
            "last_sent_counter": lock.last_sent_counter,
            "lock_high_water": lock.lock_high_water,
            "clock_offset_ms": lock.clock_offset_ms,
            "rejected_frames": self.client.rejected_frames if self.client else None,
            "available": self.last_update_success,
            "status": _status_dict(self.data.status) if self.data else None,
        }


_REFUSAL_KEYS = {
    ResultCode.JAMMED: "jammed",
    ResultCode.DOOR_OPEN: "door_open",
    ResultCode.NOT_PERMITTED: "not_permitted",
    ResultCode.BUSY: "busy",
    ResultCode.LOW_BATTERY: "low_battery",
    ResultCode.REVOKED: "revoked",
    ResultCode.UNSUPPORTED: "unsupported",
}


def _status_dict(status: LockStatus) -> dict[str, Any]:
    return {
        "lock_state": status.bolt_state.name.lower(),
        "door_state": status.door_state.name.lower(),
        "battery_percent": status.battery_percent,
        "firmware_version": status.firmware_version,
        "has_latch": status.has_latch,
        "auto_relock_seconds": status.auto_relock_seconds,
    }
