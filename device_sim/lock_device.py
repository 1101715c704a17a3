"""The simulated lock's firmware: protocol in, mechanism out, state kept safe.

`LockDevice` is transport-free: links hand it frames with `receive`, and it
hands frames back through the `outbox` callable, which sends to every link (a
frame names its recipient inside; others cannot open it).  Ordering rules that
make it crash-safe:

* a request's counter high-water mark is written to storage before the lock
  acts on it, so a replay after any crash is refused;
* the lock's own send counter is written before a frame leaves, so it never
  goes backward;
* failed pairing proofs are written before the refusal is sent.

The sealed records are bound to the secure element's monotonic counter; if
the flash holds an older copy (see `rollback`), the lock boots into lockdown:
bolt thrown, nothing written, every frame dropped, TAMPER events to admins.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
import logging

from custom_components.secure_lock.protocol.audit import chain_hash
from custom_components.secure_lock.protocol.channel import Channel, unwrap, wrap
from custom_components.secure_lock.protocol.errors import (
    ErrorCode,
    PairingError,
    ProtocolError,
)
from custom_components.secure_lock.protocol.firmware import ReleasePublicKey
from custom_components.secure_lock.protocol.identity import PrekeyPolicy
from custom_components.secure_lock.protocol.messages import (
    NO_CONTROLLER,
    AuditLogChunk,
    AuditLogRequest,
    CommandResult,
    ControllerAdd,
    ControllerJoined,
    ControllerListChunk,
    ControllerRemove,
    Event,
    EventSource,
    EventType,
    FirmwareChunk,
    FirmwareInstall,
    Heartbeat,
    InvitationCreate,
    InvitationRevoke,
    JoinMethod,
    KeyRotation,
    MessageKind,
    ResultCode,
    Settings,
    TimeSync,
    UpdateOutcome,
)
from custom_components.secure_lock.protocol.pairing import LockPairingOutcome
from custom_components.secure_lock.protocol.pairing_messages import (
    PairingHello,
    PairingMessageType,
)
from custom_components.secure_lock.protocol.permissions import may_read_state
from custom_components.secure_lock.protocol.registry import ControllerRecord
from custom_components.secure_lock.protocol.resync import RESYNC_MIN_INTERVAL_S
from custom_components.secure_lock.protocol.rng import Rng, system_rng
from custom_components.secure_lock.protocol.roles import Role
from custom_components.secure_lock.protocol.session import (
    RevokedError,
    UnauthorizedError,
    VerifiedMessage,
)
from custom_components.secure_lock.protocol.state import (
    BoltState as WireBoltState,
    DoorState as WireDoorState,
    LockStatus,
)
from custom_components.secure_lock.protocol.suites import choose_suite

from .audit_log import DEFAULT_CAPACITY, AuditLog
from .device_state import DeviceSettings, DeviceState, load_state, save_state
from .firmware_slots import SlotStore
from .firmware_update import FirmwareUpdater, UpdateRefused
from .joining import InvitationRefused, JoinBook, PendingJoin
from .mechanism import (
    BoltState,
    DoorState,
    Mechanism,
    MechanismConfig,
    MechanismEvent,
    MechanismEventKind,
    MechanismRefused,
    MechanismStatus,
    Refusal,
    Source,
)
from .rollback import RollbackReport, boot_quarantined, tamper_frames
from .secure_element import SecureElement
from .storage import RecordRolledBack, SealedStore
from .timing import Scheduler, TimerHandle

_LOGGER = logging.getLogger(__name__)

CONTROLLER_LIST_CHUNK_SIZE = 4
AUDIT_CHUNK_SIZE = 8
AUDIT_MAX_ENTRIES = 256
FIRMWARE_DIR = "firmware"
RESEND_WINDOW_S = 30.0
"""Answers younger than a request's default lifetime are re-sent after a resync."""
RESEND_LIMIT = 4


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """How this simulated lock is built and behaves."""

    model: str = "Secure Lock SL-1 (simulated)"
    firmware_version: str = "1.0.0"
    mechanism: MechanismConfig = field(default_factory=MechanismConfig)
    heartbeat_seconds: float = 30.0
    pairing_window_seconds: float = 120.0
    lockout_threshold: int = 5
    prekey_policy: PrekeyPolicy = field(default_factory=PrekeyPolicy)
    release_key: ReleasePublicKey | None = None
    """Manufacturer release key, baked into the sealed state once (then never replaced)."""
    reboot_seconds: float = 2.0
    """How long the simulated reboot into a new image takes (frames are dropped meanwhile)."""
    refuse_update_when_unlocked: bool = False
    """Refuse to install while the bolt is not locked (the door stays secured)."""
    audit_capacity: int = DEFAULT_CAPACITY
    """Audit entries kept (set at first boot, then kept in the sealed state)."""


_BOLT_TO_WIRE = {
    BoltState.LOCKED: WireBoltState.LOCKED,
    BoltState.UNLOCKED: WireBoltState.UNLOCKED,
    BoltState.LOCKING: WireBoltState.LOCKING,
    BoltState.UNLOCKING: WireBoltState.UNLOCKING,
    BoltState.OPENING: WireBoltState.OPENING,
    BoltState.OPEN: WireBoltState.OPEN,
    BoltState.JAMMED: WireBoltState.JAMMED,
}
_SOURCE_TO_WIRE = {
    Source.CONTROLLER: EventSource.CONTROLLER,
    Source.MANUAL: EventSource.MANUAL,
    Source.KEYPAD: EventSource.KEYPAD,
    Source.AUTO_RELOCK: EventSource.AUTO_RELOCK,
}
_REFUSAL_TO_RESULT = {
    Refusal.JAMMED: ResultCode.JAMMED,
    Refusal.DOOR_OPEN: ResultCode.DOOR_OPEN,
    Refusal.BATTERY_EMPTY: ResultCode.LOW_BATTERY,
    Refusal.BUSY: ResultCode.BUSY,
    Refusal.NO_LATCH: ResultCode.UNSUPPORTED,
}
# A failed proof gets a signed notice only when it was signed by the hello's
# key (so only the controller itself can learn, or cause, the failure).
_PROOF_NOTICES = frozenset(
    {ErrorCode.BAD_MAC, ErrorCode.DOWNGRADE, ErrorCode.MALFORMED}
)
# Refusals of a hello that tell its sender something useful; anything else
# (noise, another lock's hello) gets no answer at all.
_HELLO_NOTICES = frozenset(
    {
        ErrorCode.PAIRING_BUSY,
        ErrorCode.PAIRING_LOCKED_OUT,
        ErrorCode.UNSUPPORTED_SUITE,
    }
)


@dataclass(slots=True)
class _PendingMotor:
    """The command that started the current motor movement."""

    request: VerifiedMessage
    controller_name: str


@dataclass(frozen=True, slots=True)
class _SentAnswer:
    """A result sent recently, kept in memory only, to re-seal after a resync."""

    request: VerifiedMessage
    payload: CommandResult
    sent_at: float


class LockDevice:
    """One simulated lock: keys, controllers, mechanism, pairing window."""

    def __init__(
        self,
        store: SealedStore,
        scheduler: Scheduler,
        outbox: Callable[[bytes], None],
        config: DeviceConfig | None = None,
        *,
        rng: Rng = system_rng,
    ) -> None:
        """Boot: load sealed keys and state, or make them on first boot."""
        self.config = config or DeviceConfig()
        self._store = store
        self._bound_store = store
        """The store tied to the secure counter (``_store`` is read-only in lockdown)."""
        self._scheduler = scheduler
        self._outbox = outbox
        self._rng = rng
        self._boot_monotonic = scheduler.monotonic()
        self.online = True
        if not store.bound:
            raise ValueError("the lock's store must be bound to its secure counter")
        self.rollback: RollbackReport | None = None
        self.frames_refused_in_lockdown = 0
        try:
            self.element, created = SecureElement.load_or_create(
                store, clock=self.now_ms, rng=rng, policy=self.config.prekey_policy
            )
            state = load_state(store)
        except RecordRolledBack:
            self.rollback = RollbackReport.of(store)
            quarantined = boot_quarantined(
                store, clock=self.now_ms, rng=rng, policy=self.config.prekey_policy
            )
            self._store = quarantined.store
            self.element, created, state = quarantined.element, False, quarantined.state
            # Fail secure: the bolt is thrown before anything else runs.
            state.mechanism = replace(state.mechanism, bolt=BoltState.LOCKED)
            _LOGGER.error(
                "Sealed state is older than the secure element's counter (%s): "
                "refusing every request until a factory reset",
                ", ".join(f.name for f in self.rollback.findings),
            )
        self.first_boot = created or state is None
        self.state = state or DeviceState(audit=AuditLog(self.config.audit_capacity))
        mechanism_config = replace(
            self.config.mechanism,
            auto_relock_seconds=self.state.settings.auto_relock_seconds or None,
            refuse_lock_when_door_open=self.state.settings.refuse_lock_when_door_open,
        )
        self.mechanism = Mechanism(
            scheduler,
            mechanism_config,
            # In lockdown nothing is announced: the old registry may name
            # controllers that were removed since.
            on_event=self._on_mechanism_event
            if self.rollback is None
            else lambda _event: None,
            initial=self.state.mechanism,
        )
        self.endpoint = self.element.endpoint(
            self.state.registry,
            last_sent_counter=self.state.last_sent_counter,
            clock=self.now_ms,
            rng=rng,
        )
        self.pairing = self.element.pairing(
            self.state.pairing_attempts, clock=self.now_ms, rng=rng
        )
        self._pending_motor: _PendingMotor | None = None
        self.dropped_frames: dict[ErrorCode, int] = {}
        self._timers: dict[str, TimerHandle] = {}
        self._resync_notice: bytes | None = None
        self._last_resync: float | None = None
        self._recent_answers: dict[bytes, deque[_SentAnswer]] = {}
        self.firmware = FirmwareUpdater(
            self.state.firmware,
            SlotStore(store.directory / FIRMWARE_DIR),
            model=self.config.model,
            persist=self._persist,
        )
        if self.rollback is None:
            self.firmware.provision(
                self.config.firmware_version, self.config.release_key
            )
        self.rebooting = False
        self._persist()
        if self.rollback is None and self.state.firmware.trial is not None:
            # Power came back while a new image was on trial: this boot is
            # the trial boot (or, if it already had one, the fallback).
            self._trial_boot()

    # Clock and lifecycle ------------------------------------------------------

    def now_ms(self) -> int:
        """Return the lock's wall clock in milliseconds (simulated skew included)."""
        return int(self._scheduler.wall_time() * 1000)

    @property
    def lock_id(self) -> bytes:
        """Return the lock id."""
        return self.element.lock_id

    def start(self) -> None:
        """Start the heartbeat, rotate or erase prekeys if overdue (in lockdown: tamper reports)."""
        if self.rollback is not None:
            self._report_tamper()
            return
        self._schedule("heartbeat", self.config.heartbeat_seconds, self._heartbeat_tick)
        self._rotation_tick()
        self._schedule_failsafe()

    def shutdown(self) -> None:
        """Stop timers (the mechanism stops where it is)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self.mechanism.shutdown()

    def _schedule(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self._timers[name] = self._scheduler.call_later(delay, callback)

    def _report_tamper(self) -> None:
        """Warn the admins, again every heartbeat period (they may be offline now)."""
        frames = tamper_frames(self.endpoint, self.wire_status(), self.now_ms())
        if self.online:
            for frame in frames:
                self._outbox(wrap(Channel.ENVELOPE, frame))
        self._schedule("tamper", self.config.heartbeat_seconds, self._report_tamper)

    def _heartbeat_tick(self) -> None:
        self.send_heartbeat()
        self._schedule("heartbeat", self.config.heartbeat_seconds, self._heartbeat_tick)

    def _rotation_tick(self) -> None:
        """Rotate when the newest prekey is a lifetime old (by its stored age, not uptime)."""
        now = self.now_ms()
        if self.element.rotation_due(now):
            self.rotate_prekeys()
        else:
            self.element.erase_expired_prekeys(now)
        self._schedule_rotation_check()

    def _schedule_rotation_check(self) -> None:
        now = self.now_ms()
        delay = (self.element.next_rotation_check_ms(now) - now) / 1000
        if (timer := self._timers.get("rotation")) is not None:
            timer.cancel()
        self._schedule("rotation", delay, self._rotation_tick)

    # Status ----------------------------------------------------------------

    def wire_status(self) -> LockStatus:
        """Return the lock's state as the protocol reports it."""
        status = self.mechanism.status
        return LockStatus(
            bolt_state=_BOLT_TO_WIRE[status.bolt],
            door_state=WireDoorState.OPEN
            if status.door is DoorState.OPEN
            else WireDoorState.CLOSED,
            battery_percent=round(status.battery_percent),
            firmware_version=self.firmware.running_version,
            has_latch=self.mechanism.config.has_latch,
            auto_relock_seconds=int(self.mechanism.config.auto_relock_seconds or 0),
        )

    def describe(self) -> dict[str, object]:
        """Return a secret-free summary for the admin channel."""
        status = self.mechanism.status
        return {
            "lock_id": self.lock_id.hex(),
            "model": self.config.model,
            "firmware_version": self.firmware.running_version,
            "firmware": {
                "state": self.firmware.state.name.lower(),
                "active_slot": self.state.firmware.active.name,
                "security_floor": self.state.firmware.security_floor,
                "received": self.state.firmware.transfer.received
                if self.state.firmware.transfer
                else 0,
                "last_outcome": self.state.firmware.last_outcome.name.lower(),
                "last_error": self.state.firmware.last_error,
                "release_key": self.state.firmware.release_key is not None,
                "rebooting": self.rebooting,
            },
            "bolt": status.bolt.value,
            "door": status.door.value,
            "battery_percent": round(status.battery_percent, 2),
            "online": self.online,
            "pairing_open": self.pairing.is_open(),
            "pairing_failures": self.state.pairing_attempts.failures,
            "pairing_locked_out": self.state.pairing_attempts.is_locked_out(
                self.config.lockout_threshold
            ),
            "controllers": [
                {
                    "id": r.controller_id.hex(),
                    "name": r.name,
                    "role": r.role.name.lower(),
                    "revoked": r.revoked,
                    "high_water": r.high_water,
                }
                for r in self.state.registry.records.values()
            ],
            "factory_state": not any(
                not r.revoked for r in self.state.registry.records.values()
            ),
            "open_invitations": len(self.state.joins.invitations),
            "pending_joins": len(self.state.joins.pending),
            "audit_entries": self.state.audit.next_index,
            "audit_refusals_not_logged": {
                code.name.lower(): n
                for code, n in self.state.audit.suppressed_refusals.items()
            },
            "rollback": None if self.rollback is None else self.rollback.describe(),
            "frames_refused_in_lockdown": self.frames_refused_in_lockdown,
            "dropped_frames": {
                code.value: n for code, n in self.dropped_frames.items()
            },
        }

    # Persistence -----------------------------------------------------------

    def _persist(self) -> None:
        if self.rollback is not None:
            # Sealing the old state would make it current: write nothing.
            return
        self.state.last_sent_counter = self.endpoint.last_sent_counter
        self.state.mechanism = self.mechanism.status
        self.state.settings.auto_relock_seconds = int(
            self.mechanism.config.auto_relock_seconds or 0
        )
        save_state(self._store, self.state)

    def _send(self, frames: list[bytes], channel: Channel = Channel.ENVELOPE) -> None:
        """Persist (the send counter moved), then hand frames to the links."""
        self._persist()
        if not self.online:
            return
        for frame in frames:
            self._outbox(wrap(channel, frame))

    # Incoming frames -------------------------------------------------------

    def receive(self, frame: bytes) -> None:
        """Handle one frame from any link; bad frames are dropped, never raised."""
        if not self.online or self.rebooting:
            return
        if self.rollback is not None:
            self.frames_refused_in_lockdown += 1
            return
        deadline = self.state.joins.next_deadline()
        if deadline is not None and deadline <= self.now_ms():
            # The wall clock passed a fail-safe before its timer fired.
            self._failsafe_tick()
        try:
            channel, body = unwrap(frame)
        except ProtocolError as err:
            self._dropped(err.code)
            return
        if channel is Channel.PAIRING:
            self._receive_pairing(body)
        elif channel is Channel.ENVELOPE:
            self._receive_envelope(body)
        else:
            self._dropped(ErrorCode.UNEXPECTED_MESSAGE)

    def _receive_pairing(self, body: bytes) -> None:
        if not body:
            return
        now = self.now_ms()
        self.state.joins.purge_expired_invitations(now)
        if not self.accepts_pairing(now) and not (
            body[0] == PairingMessageType.PROOF and self.pairing.remembers_result(now)
        ):
            # Nothing to pair with (at most a lost result to repeat): no
            # answer, no write, whatever arrives.
            return
        if body[0] == PairingMessageType.HELLO:
            reply = self._pairing_hello(body, now)
        elif body[0] == PairingMessageType.PROOF:
            reply = self._pairing_proof(body, now)
        else:
            reply = None
        if reply is not None and self.online:
            self._outbox(wrap(Channel.PAIRING, reply))

    def accepts_pairing(self, now_ms: int | None = None) -> bool:
        """Return whether a pairing could start now: the button's window or an invitation."""
        now = self.now_ms() if now_ms is None else now_ms
        return self.pairing.is_open(now) or self.state.joins.has_open_invitation(now)

    def _label_allowed(self, controller_id: bytes) -> bool:
        """Return whether the label may pair this key: factory state, or its own join."""
        return not self.state.joins.blocks_label(controller_id) and all(
            r.controller_id == controller_id
            and r.controller_id in self.state.joins.pending
            for r in self.state.registry.records.values()
            if not r.revoked
        )

    def _pairing_hello(self, body: bytes, now: int) -> bytes | None:
        try:
            hello = PairingHello.from_bytes(body)
        except ProtocolError:
            return None
        if hello.lock_id != self.lock_id:
            return None
        controller_id = hello.controller_key.key_id
        if (
            self.state.registry.get(controller_id) is not None
            and controller_id not in self.state.joins.pending
        ):
            # Known keys never join again: no re-pairing widens a role.
            return self.pairing.failure_notice(
                hello.nonce, ErrorCode.ALREADY_PAIRED, now
            )
        label = self._label_allowed(controller_id)
        invitations = self.state.joins.offers_for(controller_id, now)
        if not invitations and not (label and self.pairing.is_open(now)):
            return self.pairing.failure_notice(
                hello.nonce, ErrorCode.INVITATION_REQUIRED, now
            )
        try:
            return self.pairing.handle_hello(
                body, now, label=label, invitations=invitations
            )
        except PairingError as err:
            if err.code in _HELLO_NOTICES:
                return self.pairing.failure_notice(hello.nonce, err.code, now)
            return None

    def _pairing_proof(self, body: bytes, now: int) -> bytes | None:
        nonce = self.pairing.session_nonce()
        controller_id = self.pairing.session_controller_id()
        failures = self.state.pairing_attempts.failures
        try:
            result, outcome = self.pairing.handle_proof(
                body,
                Role.ADMIN,
                now,
                label=controller_id is not None and self._label_allowed(controller_id),
                invitations=self.state.joins.offers_for(controller_id, now)
                if controller_id is not None
                else (),
            )
        except PairingError as err:
            _LOGGER.info("Pairing proof refused: %s", err.code.value)
            if self.state.pairing_attempts.failures != failures:
                # Persisted first: a failed proof counts even if we crash right now.
                self._persist()
            if (
                nonce is not None
                and self.pairing.session_nonce() is None
                and err.code in _PROOF_NOTICES
            ):
                return self.pairing.failure_notice(nonce, err.code, now, limited=False)
            return None
        if not outcome.repeated:
            self._begin_join(outcome, now)
        return result

    def _begin_join(self, outcome: LockPairingOutcome, now: int) -> None:
        """Store the new controller provisionally; the fail-safe drops it if unheard."""
        record = outcome.record
        self.state.registry.add(record)
        self.state.joins.begin(record.controller_id, outcome.grant_id, now)
        self._persist()
        self._schedule_failsafe()
        _LOGGER.info(
            "Paired controller %s as %s (final once it is heard from)",
            record.name,
            record.role.name.lower(),
        )

    def _commit_join(self, controller_id: bytes) -> PendingJoin | None:
        """First authenticated frame of a new controller: its join is final."""
        join = self.state.joins.commit(controller_id)
        if join is not None:
            self.state.audit.append(
                self.now_ms(),
                MessageKind.CONTROLLER_ADD,
                EventSource.CONTROLLER
                if join.method is JoinMethod.INVITATION
                else EventSource.UNKNOWN,
                ResultCode.OK,
                controller_id,
            )
        return join

    def _announce_join(
        self,
        controller_id: bytes,
        method: JoinMethod,
        invited_by: bytes = NO_CONTROLLER,
        invited_by_name: str = "",
    ) -> None:
        """Tell every admin who joined, with which role, through whose invitation."""
        record = self.state.registry.get(controller_id)
        if record is None:
            return
        notice = ControllerJoined(
            record.summary(), method, invited_by, invited_by_name, self.now_ms()
        )
        frames = []
        for admin in self.state.registry.admins():
            if admin.controller_id in self.state.joins.pending:
                continue
            try:
                frames.append(
                    self.endpoint.seal(
                        admin.controller_id, MessageKind.CONTROLLER_JOINED, notice
                    )
                )
            except ProtocolError as err:
                _LOGGER.warning("Could not seal a join notice: %s", err.code.value)
        self._send(frames)

    def _schedule_failsafe(self) -> None:
        timer = self._timers.pop("failsafe", None)
        if timer is not None:
            timer.cancel()
        deadline = self.state.joins.next_deadline()
        if deadline is None:
            return
        if deadline <= self.now_ms():
            # Due already (e.g. the lock was off meanwhile): drop them now,
            # before any frame is handled.
            self._failsafe_tick()
            return
        self._schedule(
            "failsafe", (deadline - self.now_ms()) / 1000, self._failsafe_tick
        )

    def _failsafe_tick(self) -> None:
        timer = self._timers.pop("failsafe", None)
        if timer is not None:
            timer.cancel()
        expired = self.state.joins.expire(self.now_ms())
        for join in expired:
            # Never heard from: the controller does not know it was paired.
            self.state.registry.records.pop(join.controller_id, None)
            _LOGGER.info("A pairing was never confirmed; its record was dropped")
        if expired:
            self._persist()
        self._schedule_failsafe()

    def _receive_envelope(self, frame: bytes) -> None:
        try:
            message = self.endpoint.open(frame)
        except UnauthorizedError as err:
            # Authentic and fresh, but not allowed: the counter moved, persist it,
            # then say so with a signed refusal.
            join = self._commit_join(err.message.sender_id)
            self._persist()
            if join is not None:
                self._announce_join(
                    join.controller_id,
                    join.method,
                    join.invited_by,
                    join.invited_by_name,
                )
            self._audit(err.message, ResultCode.NOT_PERMITTED)
            self._respond(
                err.message, ResultCode.NOT_PERMITTED, "role does not allow this"
            )
            return
        except RevokedError as err:
            # Signed by the revoked controller itself: tell it, so it asks its
            # user to re-pair instead of retrying into silence.
            self._persist()
            self._audit(err.message, ResultCode.REVOKED)
            self._respond(err.message, ResultCode.REVOKED, "controller revoked")
            return
        except ProtocolError as err:
            self._dropped(err.code)
            if err.code is ErrorCode.UNKNOWN_PREKEY:
                self._send_resync_notice()
            return
        # The high-water mark (and a join made final) is durable before
        # anything happens.
        join = self._commit_join(message.sender_id)
        self._persist()
        if join is not None:
            self._announce_join(
                join.controller_id, join.method, join.invited_by, join.invited_by_name
            )
        self._dispatch(message)

    def _dropped(self, code: ErrorCode) -> None:
        """Count a rejected frame; say so once per reason, not once per frame."""
        count = self.dropped_frames.get(code, 0)
        self.dropped_frames[code] = count + 1
        if count == 0:
            _LOGGER.warning(
                "Dropped a frame (%s); further frames dropped for this reason are only counted",
                code.value,
            )

    def _dispatch(self, message: VerifiedMessage) -> None:
        match message.kind:
            case MessageKind.LOCK | MessageKind.UNLOCK | MessageKind.OPEN:
                self._start_motor(message)
            case MessageKind.STATUS_REQUEST:
                self._respond(message, ResultCode.OK)
            case MessageKind.CONTROLLER_ADD:
                self._add_controller(message)
            case MessageKind.CONTROLLER_REMOVE:
                self._remove_controller(message)
            case MessageKind.CONTROLLER_LIST:
                self._list_controllers(message)
            case MessageKind.INVITATION_CREATE:
                self._create_invitation(message)
            case MessageKind.INVITATION_REVOKE:
                self._revoke_invitation(message)
            case MessageKind.AUDIT_LOG_REQUEST:
                self._send_audit_log(message)
            case MessageKind.TIME_SYNC:
                self._time_sync(message)
            case MessageKind.SETTINGS:
                self._apply_settings(message)
            case MessageKind.FIRMWARE_OFFER:
                self._firmware_offer(message)
            case MessageKind.FIRMWARE_CHUNK:
                payload = message.payload
                assert isinstance(payload, FirmwareChunk)
                self.firmware.chunk(payload)
            case MessageKind.FIRMWARE_STATUS_REQUEST:
                self._respond_firmware(message)
            case MessageKind.FIRMWARE_INSTALL:
                self._firmware_install(message)
            case MessageKind.KEY_ROTATION:
                # The endpoint already switched to the controller's new prekey.
                self._persist()
                self._respond(message, ResultCode.OK)
                self._resend_recent_answers(message.sender_id)
            case _:
                self._respond(
                    message, ResultCode.UNSUPPORTED, "not supported by this lock"
                )

    # Responses -------------------------------------------------------------

    def _respond(
        self, request: VerifiedMessage, result: ResultCode, reason: str = ""
    ) -> None:
        record = self.state.registry.get(request.sender_id)
        # Refusals to former users and guests outside their window say
        # nothing about the bolt or the door.
        status = (
            self.wire_status()
            if record is not None and self._may_read_state(record)
            else LockStatus()
        )
        payload = CommandResult(
            result,
            status,
            self.now_ms(),
            record.high_water if record else request.counter,
            reason,
        )
        try:
            frame = self.endpoint.respond(request, payload)
        except ProtocolError as err:
            _LOGGER.warning("Could not answer a request: %s", err.code.value)
            return
        self._send([frame])
        if request.kind is not MessageKind.KEY_ROTATION:
            answers = self._recent_answers.setdefault(
                request.sender_id, deque(maxlen=RESEND_LIMIT)
            )
            answers.append(_SentAnswer(request, payload, self._scheduler.monotonic()))

    def _resend_recent_answers(self, controller_id: bytes) -> None:
        """Re-seal recent results to the prekey the controller just announced.

        A controller restored from a backup could not open them (they went to
        a prekey it lost); the status is the current one, so a repeat never
        shows an old state.  In memory only: nothing here is written.
        """
        now = self._scheduler.monotonic()
        frames = []
        for answer in self._recent_answers.pop(controller_id, ()):
            if now - answer.sent_at > RESEND_WINDOW_S:
                continue
            payload = replace(
                answer.payload, status=self.wire_status(), lock_time_ms=self.now_ms()
            )
            try:
                frames.append(self.endpoint.respond(answer.request, payload))
            except ProtocolError as err:
                _LOGGER.warning("Could not re-send an answer: %s", err.code.value)
        if frames:
            self._send(frames)

    def _send_resync_notice(self) -> None:
        """Publish the current signed prekeys; rate-limited, cached, never written.

        Whoever sealed to a prekey we lack cannot be told privately (we cannot
        read who it was), so this goes to every link.  It is public data.
        """
        now = self._scheduler.monotonic()
        if self._last_resync is not None and now - self._last_resync < (
            RESYNC_MIN_INTERVAL_S
        ):
            return
        self._last_resync = now
        if self._resync_notice is None:
            bundle = self.element.public_bundle()
            self._resync_notice = self.element.resync_notice(bundle.prekeys)
        if self.online:
            self._outbox(wrap(Channel.RESYNC, self._resync_notice))

    def _may_read_state(self, record: ControllerRecord) -> bool:
        return may_read_state(
            record.role,
            record.revoked,
            self.now_ms(),
            record.valid_from_ms,
            record.valid_until_ms,
        )

    def _audit(self, message: VerifiedMessage, result: ResultCode) -> None:
        self.state.audit.append(
            self.now_ms(),
            message.kind,
            EventSource.CONTROLLER,
            result,
            message.sender_id,
        )

    # Motor commands --------------------------------------------------------

    def _start_motor(self, message: VerifiedMessage) -> None:
        record = self.state.registry.get(message.sender_id)
        name = record.name if record else ""
        operations = {
            MessageKind.LOCK: self.mechanism.lock,
            MessageKind.UNLOCK: self.mechanism.unlock,
            MessageKind.OPEN: self.mechanism.open,
        }
        previous = self._pending_motor
        self._pending_motor = _PendingMotor(message, name)
        try:
            operations[message.kind](
                Source.CONTROLLER, lambda status: self._motor_done(message, status)
            )
        except MechanismRefused as err:
            self._pending_motor = previous
            result = _REFUSAL_TO_RESULT[err.refusal]
            self._audit(message, result)
            self._respond(message, result, err.refusal.value)

    def _motor_done(self, message: VerifiedMessage, status: MechanismStatus) -> None:
        if self._pending_motor is not None and self._pending_motor.request is message:
            self._pending_motor = None
        result = ResultCode.JAMMED if status.bolt is BoltState.JAMMED else ResultCode.OK
        self._audit(message, result)
        self._respond(
            message, result, "motor jammed" if result is ResultCode.JAMMED else ""
        )

    # Events ------------------------------------------------------------------

    def _on_mechanism_event(self, event: MechanismEvent) -> None:
        controller_id, controller_name = NO_CONTROLLER, ""
        if event.source is Source.CONTROLLER and self._pending_motor is not None:
            controller_id = self._pending_motor.request.sender_id
            controller_name = self._pending_motor.controller_name
        if (
            event.kind is MechanismEventKind.STATE
            and event.source
            in (
                Source.MANUAL,
                Source.KEYPAD,
                Source.AUTO_RELOCK,
            )
            and event.status.bolt in (BoltState.LOCKED, BoltState.UNLOCKED)
        ):
            self.state.audit.append(
                self.now_ms(),
                MessageKind.LOCK
                if event.status.bolt is BoltState.LOCKED
                else MessageKind.UNLOCK,
                _SOURCE_TO_WIRE[event.source],
                ResultCode.OK,
                NO_CONTROLLER,
            )
        event_type = {
            MechanismEventKind.STATE: EventType.STATE_CHANGED,
            MechanismEventKind.DOOR: EventType.DOOR_CHANGED,
            MechanismEventKind.JAM: EventType.JAMMED,
            MechanismEventKind.LOW_BATTERY: EventType.LOW_BATTERY,
            MechanismEventKind.TAMPER: EventType.TAMPER,
        }[event.kind]
        source = _SOURCE_TO_WIRE[event.source] if event.source else EventSource.UNKNOWN
        self.broadcast(
            MessageKind.EVENT,
            Event(
                event_type,
                source,
                self.wire_status(),
                self.now_ms(),
                controller_id,
                controller_name,
            ),
        )

    def broadcast(
        self, kind: MessageKind, payload: Event | Heartbeat | KeyRotation
    ) -> None:
        """Seal `payload` to every controller that should get it, and send it.

        Events and heartbeats carry the lock's state: only controllers that
        may read it right now get them (not a guest outside its window).
        """
        recipients = None if isinstance(payload, KeyRotation) else self._may_read_state
        try:
            frames = self.endpoint.broadcast(kind, payload, recipients=recipients)
        except ProtocolError as err:
            _LOGGER.warning("Could not seal a broadcast: %s", err.code.value)
            return
        # Sent even when empty: persisting the mechanism's new state matters
        # whether or not any controller is paired yet.
        self._send(list(frames.values()))

    def send_heartbeat(self) -> None:
        """Broadcast the full state (also what a silent relay would withhold)."""
        uptime = int(self._scheduler.monotonic() - self._boot_monotonic)
        self.broadcast(
            MessageKind.HEARTBEAT,
            Heartbeat(self.wire_status(), self.now_ms(), max(uptime, 0)),
        )

    def rotate_prekeys(self) -> None:
        """Rotate prekeys, announce the new ones, and erase expired private ones.

        The element seals the new keys to storage before anything is sent, so
        no controller ever learns a prekey the lock could lose in a crash.
        """
        now = self.now_ms()
        self.element.rotate_prekeys(now, self._rng)
        self._resync_notice = None
        bundle = self.element.public_bundle()
        for prekey in bundle.prekeys:
            self.broadcast(MessageKind.KEY_ROTATION, KeyRotation(prekey))

    # Administration --------------------------------------------------------

    def _add_controller(self, message: VerifiedMessage) -> None:
        request = message.payload
        assert isinstance(request, ControllerAdd)
        if request.role is Role.GUEST and not request.valid_until_ms:
            self._respond(
                message, ResultCode.INVALID_REQUEST, "guests need an end of validity"
            )
            return
        suite = choose_suite(
            tuple(p.suite for p in request.bundle.prekeys),
            tuple(p.suite for p in self.element.public_bundle().prekeys),
        )
        if suite is None:
            self._respond(message, ResultCode.INVALID_REQUEST, "no common suite")
            return
        existing = self.state.registry.get(request.bundle.key_id)
        if existing is not None and not existing.revoked:
            self._respond(
                message, ResultCode.INVALID_REQUEST, "controller already paired"
            )
            return
        self.state.registry.add(
            ControllerRecord(
                request.bundle.key_id,
                request.name,
                request.bundle,
                request.role,
                suite,
                request.valid_from_ms,
                request.valid_until_ms,
            )
        )
        self._audit(message, ResultCode.OK)
        self._persist()
        self._respond(message, ResultCode.OK)
        sender = self.state.registry.get(message.sender_id)
        self._announce_join(
            request.bundle.key_id,
            JoinMethod.ADMIN_ADD,
            message.sender_id,
            sender.name if sender else "",
        )

    def _create_invitation(self, message: VerifiedMessage) -> None:
        request = message.payload
        assert isinstance(request, InvitationCreate)
        sender = self.state.registry.get(message.sender_id)
        try:
            self.state.joins.create(
                request, message.sender_id, sender.name if sender else "", self.now_ms()
            )
        except InvitationRefused as err:
            self._respond(message, ResultCode.INVALID_REQUEST, str(err))
            return
        self._audit(message, ResultCode.OK)
        # The invitation is durable before the admin hands it out.
        self._persist()
        self._respond(message, ResultCode.OK)

    def _revoke_invitation(self, message: VerifiedMessage) -> None:
        request = message.payload
        assert isinstance(request, InvitationRevoke)
        try:
            join = self.state.joins.revoke(request.invitation_id)
        except KeyError:
            self._respond(message, ResultCode.NOT_FOUND, "no such invitation")
            return
        if join is not None:
            # Taken back before the join was final: that controller is gone too.
            self.state.registry.records.pop(join.controller_id, None)
        self._audit(message, ResultCode.OK)
        self._persist()
        self._respond(message, ResultCode.OK)

    def _remove_controller(self, message: VerifiedMessage) -> None:
        request = message.payload
        assert isinstance(request, ControllerRemove)
        record = self.state.registry.get(request.controller_id)
        if record is None or record.revoked:
            self._respond(message, ResultCode.NOT_FOUND, "no such controller")
            return
        admins = self.state.registry.admins()
        if (
            record.role is Role.ADMIN
            and len(admins) == 1
            and request.controller_id != message.sender_id
        ):
            self._respond(
                message, ResultCode.INVALID_REQUEST, "cannot remove the last admin"
            )
            return
        self.state.registry.revoke(request.controller_id)
        self._audit(message, ResultCode.OK)
        # Revocation is durable before the admin hears it happened.
        self._persist()
        self._respond(message, ResultCode.OK)

    def _list_controllers(self, message: VerifiedMessage) -> None:
        summaries = self.state.registry.summaries()
        chunks = [
            summaries[i : i + CONTROLLER_LIST_CHUNK_SIZE]
            for i in range(0, max(len(summaries), 1), CONTROLLER_LIST_CHUNK_SIZE)
        ]
        frames = []
        for index, chunk in enumerate(chunks):
            try:
                frames.append(
                    self.endpoint.respond(
                        message, ControllerListChunk(index, len(chunks), tuple(chunk))
                    )
                )
            except ProtocolError as err:
                _LOGGER.warning("Could not seal a controller list: %s", err.code.value)
                return
        self._send(frames)

    def _send_audit_log(self, message: VerifiedMessage) -> None:
        request = message.payload
        assert isinstance(request, AuditLogRequest)
        window = self.state.audit.window(
            request.since_index,
            min(request.max_entries or AUDIT_MAX_ENTRIES, AUDIT_MAX_ENTRIES),
        )
        entries = list(window.entries)
        frames = []
        previous = window.previous_hash
        starts = range(0, max(len(entries), 1), AUDIT_CHUNK_SIZE)
        for number, start in enumerate(starts):
            chunk = tuple(entries[start : start + AUDIT_CHUNK_SIZE])
            head = previous
            for entry in chunk:
                head = chain_hash(head, entry)
            payload = AuditLogChunk(chunk, number == len(starts) - 1, previous, head)
            previous = head
            try:
                frames.append(self.endpoint.respond(message, payload))
            except ProtocolError as err:
                _LOGGER.warning("Could not seal an audit chunk: %s", err.code.value)
                return
        self._send(frames)

    def _time_sync(self, message: VerifiedMessage) -> None:
        request = message.payload
        assert isinstance(request, TimeSync)
        self._respond(message, ResultCode.OK)

    def _apply_settings(self, message: VerifiedMessage) -> None:
        request = message.payload
        assert isinstance(request, Settings)
        # Persisted by set_auto_relock before the admin hears it took effect.
        self.set_auto_relock(request.auto_relock_seconds or None)
        self._audit(message, ResultCode.OK)
        self._respond(message, ResultCode.OK)

    # Firmware update -----------------------------------------------------------

    def _respond_firmware(
        self, request: VerifiedMessage, refusal: UpdateRefused | None = None
    ) -> None:
        if refusal is None:
            payload = self.firmware.status(self.now_ms())
        else:
            payload = self.firmware.status(
                self.now_ms(), refusal.result, refusal.code.value
            )
        try:
            frame = self.endpoint.respond(request, payload)
        except ProtocolError as err:
            _LOGGER.warning("Could not answer a firmware request: %s", err.code.value)
            return
        self._send([frame])

    def _firmware_offer(self, message: VerifiedMessage) -> None:
        part = message.payload
        assert isinstance(part, FirmwareChunk)
        try:
            self.firmware.offer_part(part)
        except UpdateRefused as refusal:
            self._audit(message, refusal.result)
            self._respond_firmware(message, refusal)
            return
        self._respond_firmware(message)

    def _firmware_install(self, message: VerifiedMessage) -> None:
        request = message.payload
        assert isinstance(request, FirmwareInstall)
        try:
            self.firmware.install(
                request.transfer_id,
                secured=not self.config.refuse_update_when_unlocked
                or self.mechanism.status.bolt is BoltState.LOCKED,
            )
        except UpdateRefused as refusal:
            self._audit(message, refusal.result)
            self._respond_firmware(message, refusal)
            return
        self._audit(message, ResultCode.OK)
        # The trial is durable (install persisted it); say so, then go dark.
        self._respond_firmware(message)
        self.rebooting = True
        self._schedule("reboot", self.config.reboot_seconds, self._trial_boot)

    def _trial_boot(self) -> None:
        self._timers.pop("reboot", None)
        result = self.firmware.trial_boot()
        self.rebooting = False
        updated = result.outcome is UpdateOutcome.UPDATED
        self.state.audit.append(
            self.now_ms(),
            MessageKind.FIRMWARE_INSTALL,
            EventSource.UNKNOWN,
            ResultCode.OK if updated else ResultCode.FIRMWARE_REJECTED,
            NO_CONTROLLER,
        )
        self.broadcast(
            MessageKind.EVENT,
            Event(
                EventType.FIRMWARE_UPDATED
                if updated
                else EventType.FIRMWARE_ROLLED_BACK,
                EventSource.UNKNOWN,
                self.wire_status(),
                self.now_ms(),
            ),
        )

    def fail_next_self_check(self, fail: bool = True) -> None:
        """Make the next firmware self-check fail (admin channel; tests the fallback)."""
        self.firmware.fail_next_self_check = fail

    # The physical world (admin channel) --------------------------------------

    def press_button(self) -> None:
        """Open pairing for the window; a press also clears a lockout (physical access)."""
        self.state.pairing_attempts.failures = 0
        self.pairing.open_window(
            duration_ms=int(self.config.pairing_window_seconds * 1000)
        )
        self._persist()
        _LOGGER.info(
            "Pairing button pressed: pairing open for %.0f s",
            self.config.pairing_window_seconds,
        )

    def factory_reset(self) -> None:
        """Go back to factory state (the long press); the label pairs again.

        Controllers, invitations, pending joins, the audit log and settings
        are wiped and the prekeys rotated.  Former controllers are kept only
        as nameless, revoked keys, so that the lock can answer them with a
        signed refusal and they ask their user to pair again.
        """
        now = self.now_ms()
        if self.rollback is not None:
            self._leave_lockdown()
        for controller_id in list(self.state.joins.pending):
            self.state.registry.records.pop(controller_id, None)
        for record in self.state.registry.records.values():
            record.revoked = True
            record.name = ""
        self.state.joins = JoinBook()
        self.state.audit = AuditLog(self.config.audit_capacity)
        self.state.settings = DeviceSettings()
        self.state.pairing_attempts.failures = 0
        self.pairing.forget()
        self.mechanism.set_auto_relock(None)
        self.element.rotate_prekeys(now, self._rng)
        self._persist()
        self._schedule_failsafe()
        _LOGGER.info("Factory reset: no controllers; press the button to pair")

    def _leave_lockdown(self) -> None:
        """Whoever holds the reset button is trusted: write fresh, current records.

        Every record is sealed again through the store tied to the secure
        counter, so the next boot finds them current; the old registry this
        lockdown booted from is wiped by the reset that called this.
        """
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._store = self._bound_store
        self.element.rebind(self._bound_store)
        self.rollback = None
        self.mechanism.set_listener(self._on_mechanism_event)
        _LOGGER.warning("Factory reset ends the rollback lockdown")
        self.start()

    def set_door(self, door: DoorState) -> None:
        """Change the door sensor reading."""
        self.mechanism.set_door(door)
        self._persist()

    def set_auto_relock(self, seconds: float | None) -> None:
        """Change the auto-relock delay (None turns it off); kept across restarts."""
        self.mechanism.set_auto_relock(seconds)
        self._persist()

    def set_online(self, online: bool) -> None:
        """Drop or restore every link (frames in either direction are lost)."""
        self.online = online
