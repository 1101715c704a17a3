"""A controller's session with one paired lock over a frame link.

`LockClient` seals requests, waits for the lock's signed answers (bound to the
request's hash by the protocol), and turns pushed events and heartbeats into
`LockReport`s.  It never reports a state the lock did not sign: a command that
times out says so, and the caller keeps showing the last confirmed state.

Counters live in the `PairedLock` record; the client calls `on_persist` after
every change so the owner can store it (a restored old copy is harmless: the
lock's signed high-water mark in each result moves the counter past it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
import contextlib
from dataclasses import dataclass, field
from enum import StrEnum
import functools
import logging
import math
from typing import Any

from ..protocol.audit import verify_chain
from ..protocol.channel import Channel, unwrap, wrap
from ..protocol.errors import ErrorCode, ProtocolError
from ..protocol.identity import ControllerIdentity
from ..protocol.keys import PublicKeyBundle
from ..protocol.messages import (
    REQUEST_ID_SIZE,
    AuditEntry,
    AuditLogChunk,
    AuditLogRequest,
    Command,
    CommandResult,
    ControllerAdd,
    ControllerJoined,
    ControllerListChunk,
    ControllerListRequest,
    ControllerRemove,
    ControllerSummary,
    Event,
    EventSource,
    EventType,
    Heartbeat,
    InvitationRevoke,
    KeypadCodeListChunk,
    KeyRotation,
    MessageKind,
    Payload,
    ResultCode,
    Settings,
)
from ..protocol.registry import PairedLock
from ..protocol.resync import accept_lock_prekey
from ..protocol.rng import Clock, Rng, system_clock, system_rng
from ..protocol.roles import Role
from ..protocol.rotation import is_rotation_due
from ..protocol.session import (
    DEFAULT_LIFETIME_MS,
    ClockSkewError,
    ControllerEndpoint,
    VerifiedMessage,
)
from ..protocol.state import LockStatus
from ..transport.errors import DeliveryUnknown, TransportError
from ..transport.link import FrameLink
from .errors import CommandRefused, CommandTimeout, ControllerError, LinkUnavailable
from .invitations import DEFAULT_INVITATION_TTL_MS, IssuedInvitation, new_invitation

_LOGGER = logging.getLogger(__name__)

DEFAULT_COMMAND_TIMEOUT = 15.0
_MOTOR_COMMANDS = frozenset({MessageKind.LOCK, MessageKind.UNLOCK, MessageKind.OPEN})
UNLOCK_LIFETIME_MS = 10_000
"""Unlock and open expire 10 s after sending: a delayed unlock is worse than none."""
REPORT_FRESHNESS_MS = 5_000
"""A report is shown only if, by our estimate of the lock's clock, it is at most
this old.  The estimate runs at most 5 s behind the lock (session.py) and at
most 2 s ahead, so nothing more than 10 s old is ever shown as current."""
STALE_STATUS_INTERVAL_MS = 5_000
"""After a stale report, at most one fresh status request per this interval."""
RESYNC_MIN_INTERVAL_MS = 10_000
"""At most one re-announcement per 10 s on an unreadable frame (anyone can send one)."""
_RESENDABLE = frozenset({MessageKind.KEY_ROTATION, MessageKind.STATUS_REQUEST})
"""Requests re-sealed after a resync: repeating them changes nothing on the lock."""
RELAY_EXPIRY_S = math.ceil(DEFAULT_LIFETIME_MS / 1000)
"""MQTT 5 expiry asked of the relay, the same for every request.

Defence in depth: the broker discards what the lock would refuse anyway.  It
is one value for all kinds on purpose: a per-kind expiry (10 s for unlock,
30 s for lock) would tell the broker which command a frame carries.
"""


class ReportKind(StrEnum):
    """Where a verified report came from."""

    EVENT = "event"
    HEARTBEAT = "heartbeat"
    RESULT = "result"
    JOINED = "joined"
    """A controller's join became final (told to admins; no lock state in it)."""


@dataclass(frozen=True, slots=True)
class LockReport:
    """A report the lock signed: its `LockStatus`, and the event that changed it.

    "Report", not "update": in this package an update is a firmware update.
    """

    kind: ReportKind
    status: LockStatus
    lock_time_ms: int
    event: Event | None = None
    joined: ControllerJoined | None = None


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """A request's verified answer(s)."""

    messages: tuple[VerifiedMessage, ...]

    @property
    def result(self) -> CommandResult:
        """Return the single command result (for ordinary commands)."""
        payload = self.messages[-1].payload
        if not isinstance(payload, CommandResult):
            raise TypeError("this request was answered with chunks")
        return payload


@dataclass(slots=True)
class _Waiter:
    """Collects the answers to one request until the last one arrives."""

    kind: MessageKind
    future: asyncio.Future[CommandOutcome]
    messages: list[VerifiedMessage] = field(default_factory=list)
    payload: Payload | None = None
    lifetime_ms: int | None = None

    def add(self, message: VerifiedMessage) -> None:
        self.messages.append(message)
        if _is_last(message.payload) and not self.future.done():
            self.future.set_result(CommandOutcome(tuple(self.messages)))


def _is_last(payload: Payload) -> bool:
    if isinstance(payload, ControllerListChunk):
        return payload.index == payload.total - 1
    if isinstance(payload, AuditLogChunk):
        return payload.final
    if isinstance(payload, KeypadCodeListChunk):
        return payload.index == payload.total - 1
    return True


class LockClient:
    """One controller's session with one lock."""

    def __init__(
        self,
        link: FrameLink,
        identity: ControllerIdentity,
        lock: PairedLock,
        *,
        on_update: Callable[[LockReport], None] | None = None,
        on_persist: Callable[[PairedLock], None] | None = None,
        on_clock_skew: Callable[[int], None] | None = None,
        clock: Clock = system_clock,
        rng: Rng = system_rng,
    ) -> None:
        """Bind to a link; call `start` to begin receiving."""
        self.link = link
        self.identity = identity
        self.endpoint = ControllerEndpoint(identity, lock, rng=rng, clock=clock)
        self._on_update = on_update or (lambda _update: None)
        self._listeners: list[Callable[[LockReport], None]] = []
        self._on_persist = on_persist or (lambda _lock: None)
        self._on_clock_skew = on_clock_skew or (lambda _sample: None)
        self._clock = clock
        self._rng = rng
        self._waiters: dict[bytes, _Waiter] = {}
        self._task: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        self.last_status: LockStatus | None = None
        self.rejected_frames = 0
        self.confirmed_high_water = 0
        """Highest of our counters the lock has signed as durably seen."""
        self._last_resync_ms: int | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.resyncs = 0
        """How many times we re-announced our prekey to resynchronise."""
        self.stale_reports = 0
        """Signed reports not shown: too old on arrival, or older than one shown."""
        self._last_stale_status_ms: int | None = None
        self._name_at_lock = ""
        """Our name as the lock's events give it (for our own commands' events)."""

    @property
    def paired_lock(self) -> PairedLock:
        """Return the lock record (keys, counters, clock offset) to persist."""
        return self.endpoint.lock

    async def start(self) -> None:
        """Start receiving frames."""
        if self._task is None:
            self._task = asyncio.create_task(
                self._receive_loop(), name="secure_lock receive"
            )

    async def wait_closed(self) -> None:
        """Return once the link stopped delivering frames (lost, or closed by us)."""
        await self._closed.wait()

    async def close(self) -> None:
        """Stop receiving and fail pending requests (the link is closed by its owner)."""
        self._closed.set()
        for task in (self._task, *self._tasks):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = None
        self._tasks.clear()
        for waiter in self._waiters.values():
            if not waiter.future.done():
                waiter.future.set_exception(LinkUnavailable("client closed"))
        self._waiters.clear()

    # Requests ----------------------------------------------------------------

    async def request(
        self,
        kind: MessageKind,
        payload: Payload,
        *,
        timeout: float = DEFAULT_COMMAND_TIMEOUT,
        lifetime_ms: int | None = None,
    ) -> CommandOutcome:
        """Send one request and wait for its verified answer(s)."""
        request_id = self._rng(REQUEST_ID_SIZE)
        frame = self.endpoint.seal(
            kind, payload, lifetime_ms=lifetime_ms, request_id=request_id
        )
        # The counter moved: persisted before the frame can reach the lock.
        self._on_persist(self.endpoint.lock)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        waiter = _Waiter(
            kind, loop.create_future(), payload=payload, lifetime_ms=lifetime_ms
        )
        self._waiters[request_id] = waiter
        try:
            try:
                await self.link.send(
                    wrap(Channel.ENVELOPE, frame), expiry_s=RELAY_EXPIRY_S
                )
            except DeliveryUnknown:
                # It may be at the lock: only its answer, or the timeout,
                # may end the request (a "not sent" could make someone resend).
                pass
            except TransportError as err:
                raise LinkUnavailable(
                    f"cannot reach the lock: {type(err).__name__}"
                ) from err
            try:
                async with asyncio.timeout_at(deadline):
                    return await waiter.future
            except TimeoutError:
                raise CommandTimeout(
                    f"no signed answer to {kind.name.lower()} within {timeout:g} s"
                ) from None
        finally:
            self._waiters.pop(request_id, None)

    async def post(self, kind: MessageKind, payload: Payload) -> None:
        """Send one request that the lock does not answer (firmware chunks)."""
        frame = self.endpoint.seal(kind, payload)
        self._on_persist(self.endpoint.lock)
        try:
            await self.link.send(wrap(Channel.ENVELOPE, frame), expiry_s=RELAY_EXPIRY_S)
        except TransportError as err:
            raise LinkUnavailable(
                f"cannot reach the lock: {type(err).__name__}"
            ) from err

    def add_listener(
        self, listener: Callable[[LockReport], None]
    ) -> Callable[[], None]:
        """Also pass every verified update to ``listener``; return its remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def _command(
        self, kind: MessageKind, *, timeout: float = DEFAULT_COMMAND_TIMEOUT
    ) -> CommandResult:
        """Send one of lock, unlock, open or status; raise CommandRefused unless OK.

        The generic form: `lock`, `unlock`, `open` and `status` are the way to
        call it, so no caller needs to know the wire's message kinds.
        """
        lifetime = (
            UNLOCK_LIFETIME_MS
            if kind in (MessageKind.UNLOCK, MessageKind.OPEN)
            else None
        )
        result = (
            await self.request(kind, Command(), timeout=timeout, lifetime_ms=lifetime)
        ).result
        if result.result is not ResultCode.OK:
            raise CommandRefused(result)
        return result

    async def lock(self, *, timeout: float = DEFAULT_COMMAND_TIMEOUT) -> CommandResult:
        """Lock and wait for the lock's signed confirmation."""
        return await self._command(MessageKind.LOCK, timeout=timeout)

    async def unlock(
        self, *, timeout: float = DEFAULT_COMMAND_TIMEOUT
    ) -> CommandResult:
        """Unlock and wait for the lock's signed confirmation."""
        return await self._command(MessageKind.UNLOCK, timeout=timeout)

    async def open(self, *, timeout: float = DEFAULT_COMMAND_TIMEOUT) -> CommandResult:
        """Unlatch and wait for the lock's signed confirmation."""
        return await self._command(MessageKind.OPEN, timeout=timeout)

    async def status(
        self, *, timeout: float = DEFAULT_COMMAND_TIMEOUT
    ) -> CommandResult:
        """Ask for the current state."""
        return await self._command(MessageKind.STATUS_REQUEST, timeout=timeout)

    async def add_controller(
        self,
        bundle: PublicKeyBundle,
        name: str,
        role: Role,
        *,
        valid_from_ms: int = 0,
        valid_until_ms: int = 0,
    ) -> CommandResult:
        """Register another controller (admins only)."""
        payload = ControllerAdd(bundle, name, role, valid_from_ms, valid_until_ms)
        return self._checked(
            (await self.request(MessageKind.CONTROLLER_ADD, payload)).result
        )

    async def create_invitation(
        self,
        role: Role,
        *,
        valid_from_ms: int = 0,
        valid_until_ms: int = 0,
        ttl_ms: int = DEFAULT_INVITATION_TTL_MS,
    ) -> IssuedInvitation:
        """Open a one-time way in for someone else (admins only); return its code."""
        # The code's scrypt runs off the event loop.
        request, issued = await asyncio.to_thread(
            functools.partial(
                new_invitation,
                self.endpoint.lock,
                role,
                self.endpoint.lock_time(),
                valid_from_ms=valid_from_ms,
                valid_until_ms=valid_until_ms,
                ttl_ms=ttl_ms,
                rng=self._rng,
            )
        )
        outcome = await self.request(MessageKind.INVITATION_CREATE, request)
        self._checked(outcome.result)
        return issued

    async def revoke_invitation(self, invitation_id: bytes) -> CommandResult:
        """Withdraw an unused invitation (admins only)."""
        outcome = await self.request(
            MessageKind.INVITATION_REVOKE, InvitationRevoke(invitation_id)
        )
        return self._checked(outcome.result)

    async def remove_controller(self, controller_id: bytes) -> CommandResult:
        """Revoke a controller (admins only; revoking oneself is allowed)."""
        payload = ControllerRemove(controller_id)
        return self._checked(
            (await self.request(MessageKind.CONTROLLER_REMOVE, payload)).result
        )

    async def list_controllers(self) -> list[ControllerSummary]:
        """Return every controller the lock knows (admins only)."""
        outcome = await self.request(
            MessageKind.CONTROLLER_LIST, ControllerListRequest()
        )
        self._refused_if_result(outcome)
        chunks = [
            m.payload
            for m in outcome.messages
            if isinstance(m.payload, ControllerListChunk)
        ]
        return [
            entry
            for chunk in sorted(chunks, key=lambda c: c.index)
            for entry in chunk.entries
        ]

    async def audit_log(
        self, since_index: int = 0, max_entries: int = 256
    ) -> list[AuditEntry]:
        """Return audit entries (operators and admins), after checking their hash chain."""
        outcome = await self.request(
            MessageKind.AUDIT_LOG_REQUEST, AuditLogRequest(since_index, max_entries)
        )
        self._refused_if_result(outcome)
        chunks = [
            m.payload for m in outcome.messages if isinstance(m.payload, AuditLogChunk)
        ]
        entries: list[AuditEntry] = []
        for number, chunk in enumerate(chunks):
            if number and chunk.previous_hash != chunks[number - 1].head_hash:
                raise ProtocolError(
                    ErrorCode.BAD_SIGNATURE, "audit chunks do not join up"
                )
            verify_chain(chunk.previous_hash, chunk.entries, chunk.head_hash)
            entries.extend(chunk.entries)
        return entries

    async def set_auto_relock(
        self, seconds: int, *, timeout: float = DEFAULT_COMMAND_TIMEOUT
    ) -> CommandResult:
        """Set the auto-relock delay in seconds, 0 for off (admins only)."""
        outcome = await self.request(
            MessageKind.SETTINGS, Settings(seconds), timeout=timeout
        )
        return self._checked(outcome.result)

    async def rotate_keys(
        self,
        rng: Rng = system_rng,
        *,
        timeout: float = DEFAULT_COMMAND_TIMEOUT,
        store: Callable[[ControllerIdentity], None] | None = None,
    ) -> CommandResult:
        """Make a new prekey, store it, announce it to the lock, then forget expired ones.

        ``store`` runs before the announcement leaves: the lock seals to the
        new prekey as soon as it hears of it, so it must already be durable.
        """
        now = self._clock()
        self.identity.rotate_prekeys(rng, now)
        if store is not None:
            store(self.identity)
        result = await self.announce_prekey(timeout=timeout)
        self.identity.erase_expired_prekeys(now)
        return result

    async def maintain_prekeys(
        self,
        *,
        announce: bool,
        store: Callable[[ControllerIdentity], None],
        rng: Rng = system_rng,
        timeout: float = DEFAULT_COMMAND_TIMEOUT,
    ) -> None:
        """Erase expired prekeys, rotate if the newest is a lifetime old, else announce.

        Judged by the keys' stored ages, so restarts do not postpone it;
        ``announce`` re-sends the current prekey (done once per start).
        """
        now = self._clock()
        if self.identity.erase_expired_prekeys(now):
            store(self.identity)
        if is_rotation_due(self.identity, now):
            await self.rotate_keys(rng, timeout=timeout, store=store)
            store(self.identity)
        elif announce:
            await self.announce_prekey(timeout=timeout)

    async def announce_prekey(
        self, *, timeout: float = DEFAULT_COMMAND_TIMEOUT
    ) -> CommandResult:
        """Tell the lock which prekey we hold now (also after a backup restore)."""
        prekey = self.identity.current_prekey(self.endpoint.lock.suite).signed
        outcome = await self.request(
            MessageKind.KEY_ROTATION, KeyRotation(prekey), timeout=timeout
        )
        return self._checked(outcome.result)

    @staticmethod
    def _checked(result: CommandResult) -> CommandResult:
        if result.result is not ResultCode.OK:
            raise CommandRefused(result)
        return result

    @staticmethod
    def _refused_if_result(outcome: CommandOutcome) -> None:
        payload = outcome.messages[-1].payload
        if isinstance(payload, CommandResult):
            raise CommandRefused(payload)

    # Receiving ---------------------------------------------------------------

    async def _receive_loop(self) -> None:
        while True:
            try:
                frame = await self.link.receive()
            except TransportError:
                self._closed.set()
                for waiter in self._waiters.values():
                    if not waiter.future.done():
                        waiter.future.set_exception(
                            LinkUnavailable("the link to the lock closed")
                        )
                return
            self.handle_frame(frame)

    def handle_frame(self, frame: bytes) -> None:
        """Verify one frame from the link and route it; bad frames are dropped."""
        try:
            channel, body = unwrap(frame)
        except ProtocolError:
            self.rejected_frames += 1
            return
        if channel is Channel.RESYNC:
            self._handle_resync_notice(body)
            return
        if channel is not Channel.ENVELOPE:
            return
        try:
            message = self.endpoint.open(body)
        except ClockSkewError as err:
            # Authentic and new, but stamped outside the window: the lock's
            # clock moved (or the path delays frames). Dropped all the same.
            self.rejected_frames += 1
            self._on_clock_skew(err.sample_ms)
            return
        except ProtocolError as err:
            # Frames for other controllers of the same lock arrive too; those
            # fail on the routing id before any cryptography runs.
            self.rejected_frames += 1
            _LOGGER.debug("Dropped a frame: %s", err.code.value)
            if err.code is ErrorCode.UNKNOWN_PREKEY:
                # Addressed to us, sealed to a prekey we lack (a restored
                # backup): tell the lock which one we hold.  Anyone can send
                # such a frame, hence the rate limit.
                self._resync_rate_limited()
            return
        self._on_persist(self.endpoint.lock)
        payload = message.payload
        if isinstance(payload, CommandResult):
            self.confirmed_high_water = max(
                self.confirmed_high_water, payload.sender_high_water
            )
            if self._is_fresh(payload.lock_time_ms):
                own_end = self._own_command_end(message, payload)
                if own_end is not None:
                    self._publish(
                        ReportKind.EVENT, payload.status, payload.lock_time_ms, own_end
                    )
                else:
                    self._publish(
                        ReportKind.RESULT, payload.status, payload.lock_time_ms
                    )
        elif isinstance(payload, Event):
            if payload.controller_id == self.identity.key_id:
                self._name_at_lock = payload.controller_name
            if self._is_fresh(payload.lock_time_ms):
                self._publish(
                    ReportKind.EVENT, payload.status, payload.lock_time_ms, payload
                )
        elif isinstance(payload, Heartbeat):
            if self._is_fresh(payload.lock_time_ms):
                self._publish(
                    ReportKind.HEARTBEAT, payload.status, payload.lock_time_ms
                )
        elif isinstance(payload, ControllerJoined):
            self._notify_joined(payload)
        if (
            waiter := self._waiters.get(message.request_id)
        ) is not None and message.reply_to:
            waiter.add(message)

    def _own_command_end(
        self, message: VerifiedMessage, result: CommandResult
    ) -> Event | None:
        """Return the event our own lock, unlock or open ended with, from its result.

        The lock sends the requester its signed result where every other
        controller gets the event (so the relay cannot tell who asked); the
        result says the same, so it is shown as that event.
        """
        waiter = self._waiters.get(message.request_id)
        if (
            waiter is None
            or not message.reply_to
            or waiter.kind not in _MOTOR_COMMANDS
            or result.result not in (ResultCode.OK, ResultCode.JAMMED)
        ):
            return None
        return Event(
            EventType.STATE_CHANGED
            if result.result is ResultCode.OK
            else EventType.JAMMED,
            EventSource.CONTROLLER,
            result.status,
            result.lock_time_ms,
            self.identity.key_id,
            self._name_at_lock,
        )

    def _is_fresh(self, lock_time_ms: int) -> bool:
        """Return whether a signed report may be shown as the lock's current state.

        A relay can hold a report back and release it within its lifetime;
        the signature still holds, so its age decides.  (One older than a
        report already shown never gets here: its counter is below the
        high-water mark, and `open` refused it as a replay.)  A stale report
        is not shown and a fresh status is asked for instead; a held-back
        command result still answers its request.
        """
        age = self.endpoint.lock_time() - lock_time_ms
        if age <= REPORT_FRESHNESS_MS:
            return True
        self.stale_reports += 1
        _LOGGER.debug("Not shown: a report %d ms old", age)
        now = self._clock()
        last = self._last_stale_status_ms
        if last is None or not 0 <= now - last < STALE_STATUS_INTERVAL_MS:
            self._last_stale_status_ms = now
            self._spawn(self._fresh_status())
        return False

    async def _fresh_status(self) -> None:
        with contextlib.suppress(ControllerError, ProtocolError, TransportError):
            await self.status()

    def _notify_joined(self, notice: ControllerJoined) -> None:
        # Not a state report: the last known status stays as it was.
        update = LockReport(
            ReportKind.JOINED,
            self.last_status or LockStatus(),
            notice.lock_time_ms,
            joined=notice,
        )
        self._on_update(update)
        for listener in list(self._listeners):
            listener(update)

    # Resynchronisation ---------------------------------------------------------

    def _handle_resync_notice(self, body: bytes) -> None:
        """Take a newer lock prekey from a signed notice, then re-announce ours."""
        lock = self.endpoint.lock
        try:
            prekey = accept_lock_prekey(lock, body, self.endpoint.lock_time())
        except ProtocolError as err:
            self.rejected_frames += 1
            _LOGGER.debug("Dropped a resync notice: %s", err.code.value)
            return
        if prekey is None:
            return  # Nothing newer: a repeat, a replay, or for another controller.
        lock.bundle = lock.bundle.with_prekey(prekey)
        self._on_persist(lock)
        _LOGGER.info("The lock's prekey was newer than ours; resynchronising")
        # The lock could not read what we sealed to its old prekey: announce
        # ours (it may have lost track of it too), then repeat what is safe.
        pending = [
            (request_id, waiter)
            for request_id, waiter in self._waiters.items()
            if waiter.kind in _RESENDABLE
        ]
        if not any(w.kind is MessageKind.KEY_ROTATION for _, w in pending):
            self._start_resync()
        for request_id, waiter in pending:
            self._spawn(self._resend(request_id, waiter))

    def _resync_rate_limited(self) -> None:
        now = self._clock()
        last = self._last_resync_ms
        # A clock that went back must not silence resyncs for good.
        if last is not None and 0 <= now - last < RESYNC_MIN_INTERVAL_MS:
            return
        self._start_resync()

    def _start_resync(self) -> None:
        self._last_resync_ms = self._clock()
        self.resyncs += 1
        self._spawn(self._reannounce())

    async def _reannounce(self) -> None:
        try:
            await self.announce_prekey()
        except (ControllerError, ProtocolError) as err:
            _LOGGER.debug("Resynchronisation failed: %s", type(err).__name__)

    async def _resend(self, request_id: bytes, waiter: _Waiter) -> None:
        """Re-seal a pending request to the lock's new prekey, same request id."""
        if waiter.future.done() or waiter.payload is None:
            return
        frame = self.endpoint.seal(
            waiter.kind,
            waiter.payload,
            lifetime_ms=waiter.lifetime_ms,
            request_id=request_id,
        )
        self._on_persist(self.endpoint.lock)
        with contextlib.suppress(TransportError):
            await self.link.send(wrap(Channel.ENVELOPE, frame), expiry_s=RELAY_EXPIRY_S)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _publish(
        self,
        kind: ReportKind,
        status: LockStatus,
        lock_time_ms: int,
        event: Event | None = None,
    ) -> None:
        self.last_status = status
        update = LockReport(kind, status, lock_time_ms, event)
        self._on_update(update)
        for listener in list(self._listeners):
            listener(update)
