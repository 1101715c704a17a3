"""One paired lock's verified state, shared with its entities.

The lock pushes signed events and heartbeats; nothing here polls, and
reaching the lock (paths, failover, backoff, the silence watchdog) is the
connection's job.  What the entities show is only ever what the lock signed:
a command in flight shows a transition, and a lock that goes silent makes the
entities unavailable instead of leaving a stale "locked" on screen.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .const import COMMAND_TIMEOUT, DOMAIN, LOGGER, UNAVAILABLE_AFTER
from .controller import CommandRefused, LinkUnavailable, LockClient, LockReport
from .controller.connection import (
    ConnectionListener,
    ConnectionTimings,
    LockConnection,
    PathFailure,
)
from .controller.links import LinkKind
from .entry_data import (
    STORE_SAVE_DELAY,
    link_settings,
    load_identity,
    paired_lock_from_entry,
    session_store,
)
from .errors import UserMessage, translate_errors, user_message
from .issues import LockIssue, async_withdraw_issue
from .key_rotation import KeyRotation
from .lock_notices import (
    announce_join,
    check_clock,
    report_clock_skew,
    report_unreachable,
    show_firmware_version,
)
from .protocol import ControllerJoined, Event, PairedLock, ResultCode, SecureLockError
from .protocol.state import LockStatus
from .runtime import SecureLockConfigEntry
from .snapshot import LockSnapshot


class SecureLockCoordinator(DataUpdateCoordinator[LockSnapshot], ConnectionListener):
    """Shares what one lock signed and sends it what Home Assistant asks."""

    config_entry: SecureLockConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SecureLockConfigEntry,
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
        self.identity = load_identity(entry)
        self._store = store
        self.connection = LockConnection(
            link_settings(entry),
            self.identity,
            paired_lock,
            self,
            session=async_get_clientsession(hass),
            timings=ConnectionTimings(
                silence_limit=UNAVAILABLE_AFTER.total_seconds(),
                answer_timeout=COMMAND_TIMEOUT,
            ),
            start_task=lambda coro, name: entry.async_create_background_task(
                hass, coro, name
            ),
        )
        self.rotation = KeyRotation(
            hass, entry, self.identity, self.async_call, lambda: self.client is not None
        )
        self.join_serial = 0
        """Counts the join notices seen; the activity entity fires on a change."""
        self.last_join: ControllerJoined | None = None

    @classmethod
    async def async_create(
        cls, hass: HomeAssistant, entry: SecureLockConfigEntry
    ) -> SecureLockCoordinator:
        """Load keys from the entry and counters from storage."""
        store = session_store(hass, entry.entry_id)
        return cls(
            hass, entry, paired_lock_from_entry(entry, await store.async_load()), store
        )

    @property
    def lock_id(self) -> str:
        """Return the lock id as hex (the entry's unique id)."""
        return self.paired_lock.lock_id.hex()

    @property
    def lock_name(self) -> str:
        """Return the lock's name as the user knows it (the entry title)."""
        return self.config_entry.title

    @property
    def paired_lock(self) -> PairedLock:
        """Return the lock record: keys, role, counters, clock offset."""
        return self.connection.paired_lock

    @property
    def client(self) -> LockClient | None:
        """Return the client on the path in use, if connected."""
        return self.connection.client

    @property
    def link_kind(self) -> LinkKind | None:
        """Return the path in use, if connected."""
        return self.connection.path

    # Updates -------------------------------------------------------------------

    async def _async_update_data(self) -> LockSnapshot:
        """Connect (first refresh), or ask the connected lock for its signed state."""
        try:
            if (client := self.connection.client) is None:
                # Connecting includes a status request: its answer is the state.
                client = await self.connection.connect()
                status = client.last_status
            else:
                status = (await client.status(timeout=COMMAND_TIMEOUT)).status
        except CommandRefused as err:
            if err.code is ResultCode.REVOKED:
                raise ConfigEntryAuthFailed(
                    translation_domain=DOMAIN, translation_key="revoked"
                ) from err
            raise user_message(err, self.lock_name).update_failed() from err
        except SecureLockError as err:
            raise user_message(err, self.lock_name).update_failed() from err
        assert status is not None  # set by the answer connecting waited for
        self.rotation.async_lock_answered()
        return self._next_snapshot(status)

    def _next_snapshot(
        self, status: LockStatus, event: Event | None = None
    ) -> LockSnapshot:
        previous = self.data or LockSnapshot(status)
        return previous.after(status, event, self.link_kind)

    # What the connection tells us --------------------------------------------------

    @callback
    def connection_made(self, path: LinkKind) -> None:
        """Withdraw the unreachable report; ask the rotation to announce if due."""
        LOGGER.debug("Connected to lock %s over %s", self.lock_id, path.value)
        async_withdraw_issue(self.hass, LockIssue.UNREACHABLE, self.lock_id)
        if self.data is not None:
            self.rotation.async_lock_answered()

    @callback
    def lock_silent(self) -> None:
        """Make the entities unavailable until the lock signs something again."""
        # DataUpdateCoordinator logs this once, and the recovery once.
        seconds = str(int(UNAVAILABLE_AFTER.total_seconds()))
        self.async_set_update_error(
            UserMessage("no_heartbeat", {"seconds": seconds}).update_failed()
        )

    @callback
    def lock_unreachable(
        self, away_s: float, failures: tuple[PathFailure, ...]
    ) -> None:
        """Tell the user, after a lasting outage, why each path fails."""
        report_unreachable(self.hass, self.lock_name, self.lock_id, away_s, failures)

    @callback
    def controller_revoked(self) -> None:
        """Ask the user to pair again: the lock removed this controller."""
        self.config_entry.async_start_reauth(self.hass)

    @callback
    def lock_record_changed(self, lock: PairedLock) -> None:
        """Store the counters and clock offset (coalesced)."""
        self._store.async_delay_save(self._stored_data, STORE_SAVE_DELAY)

    @callback
    def clock_skew_seen(self, sample_ms: int) -> None:
        """Report authentic lock frames stamped outside the window."""
        report_clock_skew(self.hass, self.lock_name, self.paired_lock, sample_ms)

    @callback
    def lock_updated(self, update: LockReport) -> None:
        """Take one verified state report from the lock."""
        if update.joined is not None:
            self.join_serial += 1
            self.last_join = update.joined
            self.async_update_listeners()
            announce_join(self.hass, self.config_entry, update.joined)
            return
        if not self.last_update_success:
            LOGGER.info("Lock %s is reachable again", self.lock_name)
            # Our lock answered with its own keys: it was not replaced after all.
            async_withdraw_issue(self.hass, LockIssue.LOCK_REPLACED, self.lock_id)
        check_clock(self.hass, self.lock_name, self.paired_lock)
        version = update.status.firmware_version
        if self.data is not None and version != self.data.status.firmware_version:
            show_firmware_version(self.hass, self.config_entry, version)
        self.async_set_updated_data(self._next_snapshot(update.status, update.event))

    # Requests --------------------------------------------------------------------

    @translate_errors
    async def async_call[T](self, request: Callable[[LockClient], Awaitable[T]]) -> T:
        """Run one request on the connected lock; failures come out translated."""
        client = self.connection.client
        if client is None:
            raise LinkUnavailable("not connected")
        try:
            return await request(client)
        except CommandRefused as err:
            if err.code is ResultCode.REVOKED:
                self.config_entry.async_start_reauth(self.hass)
            raise

    # Shutdown --------------------------------------------------------------------

    async def async_shutdown(self) -> None:
        """Stop timers and the connection; counters are flushed to storage."""
        await super().async_shutdown()
        self.rotation.async_stop()
        await self.connection.stop()
        await self._store.async_save(self._stored_data())

    def _stored_data(self) -> dict[str, str]:
        return {"paired_lock": self.paired_lock.to_bytes().hex()}
