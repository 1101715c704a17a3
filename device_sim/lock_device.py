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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
import logging

from custom_components.secure_lock.protocol.audit import chain_hash
from custom_components.secure_lock.protocol.channel import (
    Channel,
    encode_pairing_failure,
    unwrap,
    wrap,
)
from custom_components.secure_lock.protocol.errors import ErrorCode, ProtocolError
from custom_components.secure_lock.protocol.firmware import ReleasePublicKey
from custom_components.secure_lock.protocol.identity import PrekeyPolicy
from custom_components.secure_lock.protocol.messages import (
    AuditLogChunk,
    AuditLogRequest,
    CommandResult,
    ControllerAdd,
    ControllerListChunk,
    ControllerRemove,
    Event,
    EventSource,
    EventType,
    FirmwareChunk,
    FirmwareInstall,
    Heartbeat,
    KeyRotation,
    MessageKind,
    ResultCode,
    Settings,
    TimeSync,
    UpdateOutcome,
)
from custom_components.secure_lock.protocol.pairing_messages import PairingMessageType
from custom_components.secure_lock.protocol.registry import ControllerRecord
from custom_components.secure_lock.protocol.rng import Rng, system_rng
from custom_components.secure_lock.protocol.roles import Role
from custom_components.secure_lock.protocol.session import (
    RevokedError,
    UnauthorizedError,
    VerifiedMessage,
)
from custom_components.secure_lock.protocol.state import (
    DoorState as WireDoorState,
    LockState,
    LockStatus,
)
from custom_components.secure_lock.protocol.suites import choose_suite

from .device_state import DeviceState, load_state, save_state
from .firmware_slots import SlotStore
from .firmware_update import FirmwareUpdater, UpdateRefused
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
from .secure_element import SecureElement
from .storage import SealedStore
from .timing import Scheduler, TimerHandle

_LOGGER = logging.getLogger(__name__)

NO_CONTROLLER = bytes(16)
CONTROLLER_LIST_CHUNK_SIZE = 4
AUDIT_CHUNK_SIZE = 8
AUDIT_MAX_ENTRIES = 256
FIRMWARE_DIR = "firmware"


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


_BOLT_TO_WIRE = {
    BoltState.LOCKED: LockState.LOCKED,
    BoltState.UNLOCKED: LockState.UNLOCKED,
    BoltState.LOCKING: LockState.LOCKING,
    BoltState.UNLOCKING: LockState.UNLOCKING,
    BoltState.OPENING: LockState.OPENING,
    BoltState.OPEN: LockState.OPEN,
    BoltState.JAMMED: LockState.JAMMED,
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
_MOTOR_KINDS = frozenset({MessageKind.LOCK, MessageKind.UNLOCK, MessageKind.OPEN})


@dataclass(slots=True)
class _PendingMotor:
    """The command that started the current motor movement."""

    request: VerifiedMessage
    controller_name: str


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
        self._scheduler = scheduler
        self._outbox = outbox
        self._rng = rng
        self._boot_monotonic = scheduler.monotonic()
        self.online = True
        self.element, created = SecureElement.load_or_create(
            store, clock=self.now_ms, rng=rng, policy=self.config.prekey_policy
        )
        state = load_state(store)
        self.first_boot = created or state is None
        self.state = state or DeviceState()
        mechanism_config = replace(
            self.config.mechanism,
            auto_relock_seconds=self.state.settings.auto_relock_seconds or None,
            refuse_lock_when_door_open=self.state.settings.refuse_lock_when_door_open,
        )
        self.mechanism = Mechanism(
            scheduler,
            mechanism_config,
            on_event=self._on_mechanism_event,
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
        self.firmware = FirmwareUpdater(
            self.state.firmware,
            SlotStore(store.directory / FIRMWARE_DIR),
            model=self.config.model,
            persist=self._persist,
        )
        self.firmware.provision(self.config.firmware_version, self.config.release_key)
        self.rebooting = False
        self._persist()
        if self.state.firmware.trial is not None:
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
        """Start the heartbeat and prekey-rotation timers."""
        self._schedule("heartbeat", self.config.heartbeat_seconds, self._heartbeat_tick)
        self._schedule("rotation", self._rotation_delay_seconds(), self._rotation_tick)

    def shutdown(self) -> None:
        """Stop timers (the mechanism stops where it is)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self.mechanism.shutdown()

    def _schedule(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self._timers[name] = self._scheduler.call_later(delay, callback)

    def _heartbeat_tick(self) -> None:
        self.send_heartbeat()
        self._schedule("heartbeat", self.config.heartbeat_seconds, self._heartbeat_tick)

    def _rotation_delay_seconds(self) -> float:
        return self.config.prekey_policy.lifetime_ms / 1000

    def _rotation_tick(self) -> None:
        self.rotate_prekeys()
        self._schedule("rotation", self._rotation_delay_seconds(), self._rotation_tick)

    # Status ----------------------------------------------------------------

    def wire_status(self) -> LockStatus:
        """Return the lock's state as the protocol reports it."""
        status = self.mechanism.status
        return LockStatus(
            _BOLT_TO_WIRE[status.bolt],
            WireDoorState.OPEN
            if status.door is DoorState.OPEN
            else WireDoorState.CLOSED,
            round(status.battery_percent),
            self.firmware.running_version,
            self.mechanism.config.has_latch,
            int(self.mechanism.config.auto_relock_seconds or 0),
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
            "audit_entries": self.state.audit.next_index,
            "dropped_frames": {
                code.value: n for code, n in self.dropped_frames.items()
            },
        }

    # Persistence -----------------------------------------------------------

    def _persist(self) -> None:
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
        try:
            channel, body = unwrap(frame)
        except ProtocolError as err:
            self._dropped(err.code)
            return
        if channel is Channel.PAIRING:
            self._receive_pairing(body)
        else:
            self._receive_envelope(body)

    def _receive_pairing(self, body: bytes) -> None:
        if not body:
            return
        try:
            reply = self._pairing_step(body)
        except ProtocolError as err:
            _LOGGER.info("Pairing step refused: %s", err.code.value)
            # Persisted first: a failed proof counts even if we crash right now.
            self._send([encode_pairing_failure(err.code)], Channel.PAIRING)
            return
        self._send([reply], Channel.PAIRING)

    def _pairing_step(self, body: bytes) -> bytes:
        if body[0] == PairingMessageType.HELLO:
            return self.pairing.handle_hello(body)
        if body[0] == PairingMessageType.PROOF:
            return self._complete_pairing(body)
        raise ProtocolError(ErrorCode.UNEXPECTED_MESSAGE, "not a lock-bound message")

    def _complete_pairing(self, body: bytes) -> bytes:
        role = Role.OPERATOR if self.state.registry.admins() else Role.ADMIN
        try:
            result, outcome = self.pairing.handle_proof(body, role)
        finally:
            # Success resets and failure raises the attempt counter; keep both.
            self._persist()
        self.state.registry.add(outcome.record)
        self.state.audit.append(
            self.now_ms(),
            MessageKind.CONTROLLER_ADD,
            EventSource.UNKNOWN,
            ResultCode.OK,
            outcome.record.controller_id,
        )
        _LOGGER.info(
            "Paired controller %s as %s", outcome.record.name, role.name.lower()
        )
        return result

    def _receive_envelope(self, frame: bytes) -> None:
        try:
            message = self.endpoint.open(frame)
        except UnauthorizedError as err:
            # Authentic and fresh, but not allowed: the counter moved, persist it,
            # then say so with a signed refusal.
            self._persist()
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
            return
        # The high-water mark is durable before anything happens.
        self._persist()
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
            case _:
                self._respond(
                    message, ResultCode.UNSUPPORTED, "not supported by this lock"
                )

    # Responses -------------------------------------------------------------

    def _respond(
        self, request: VerifiedMessage, result: ResultCode, reason: str = ""
    ) -> None:
        record = self.state.registry.get(request.sender_id)
        payload = CommandResult(
            result,
            self.wire_status(),
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
        """Seal `payload` to every active controller and send it."""
        try:
            frames = self.endpoint.broadcast(kind, payload)
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
        """Rotate prekeys, announce the new ones, and erase expired private ones."""
        now = self.now_ms()
        self.element.rotate_prekeys(now, self._rng)
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
