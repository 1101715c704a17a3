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

Here requests are opened and dispatched, and the mechanism is wired to the
protocol; each kind of request is carried out by a module of its own:
`controller_admin` (controllers, invitations, join notices), `join_desk`
(the pairing channel, provisional joins and their fail-safe),
`firmware_requests`, `audit_requests`, `keypad` (keypad codes and typed
PINs) and `answers` (results, re-sent after a resync); `prekey_upkeep`
keeps the prekeys fresh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
import logging

from custom_components.secure_lock.protocol.channel import Channel, unwrap, wrap
from custom_components.secure_lock.protocol.errors import ErrorCode, ProtocolError
from custom_components.secure_lock.protocol.firmware import ReleasePublicKey
from custom_components.secure_lock.protocol.identity import PrekeyPolicy
from custom_components.secure_lock.protocol.messages import (
    NO_CONTROLLER,
    Event,
    EventSource,
    EventType,
    Heartbeat,
    KeyRotation,
    MessageKind,
    ResultCode,
    Settings,
    TimeSync,
)
from custom_components.secure_lock.protocol.registry import ControllerRecord
from custom_components.secure_lock.protocol.rng import Rng, system_rng
from custom_components.secure_lock.protocol.session import (
    RevokedError,
    UnauthorizedError,
    VerifiedMessage,
)
from custom_components.secure_lock.protocol.state import LockStatus

from .answers import Answers, may_read_state_now
from .audit_log import DEFAULT_CAPACITY, AuditLog
from .audit_requests import send_audit_log
from .controller_admin import ControllerAdmin
from .device_state import DeviceState, load_state, save_state
from .device_summary import describe_lock
from .firmware_requests import FirmwareRequests
from .firmware_slots import SlotStore
from .firmware_update import FirmwareUpdater
from .join_desk import JoinDesk
from .keypad import Keypad, KeypadOutcome
from .mechanism import (
    MOVING,
    BoltState,
    DoorState,
    Mechanism,
    MechanismConfig,
    MechanismEvent,
    MechanismEventKind,
    MechanismRefused,
    MechanismStatus,
    Source,
)
from .mechanism_wire import (
    operation_not_by_controller,
    refusal_result,
    wire_event_type,
    wire_source,
    wire_status,
)
from .prekey_upkeep import PrekeyUpkeep
from .rollback import RollbackReport, boot_in_lockdown, tamper_frames
from .secure_element import SecureElement
from .storage import RecordRolledBack, SealedStore
from .timing import LockTimer, LockTimers, Scheduler
from .traffic_shape import (
    HEARTBEAT_JITTER,
    RelockCover,
    heartbeat_interval,
    in_routing_order,
)

_LOGGER = logging.getLogger(__name__)

FIRMWARE_DIR = "firmware"


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """How this simulated lock is built and behaves."""

    model: str = "Secure Lock SL-1 (simulated)"
    firmware_version: str = "1.0.0"
    mechanism: MechanismConfig = field(default_factory=MechanismConfig)
    heartbeat_seconds: float = 30.0
    heartbeat_jitter: float = HEARTBEAT_JITTER
    """Each heartbeat comes after ``heartbeat_seconds`` times 1 ± this (0 = exact)."""
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
            self.rollback, quarantined = boot_in_lockdown(
                store, clock=self.now_ms, rng=rng, policy=self.config.prekey_policy
            )
            self._store = quarantined.store
            self.element, created, state = quarantined.element, False, quarantined.state
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
        self._held: list[bytes] | None = None
        """Frames of the moment a command finishes, held until its result joins them."""
        self._relock_cover = RelockCover(scheduler, self.send_report)
        self.dropped_frames: dict[ErrorCode, int] = {}
        self.on_motor_started: Callable[[MessageKind], None] | None = None
        """Told when a controller's command starts the motor (bench/load.py
        records executions with it; the device itself never reads it)."""
        self._timers = LockTimers(scheduler)
        self._prekeys = PrekeyUpkeep(self, self.element, self._timers, rng)
        self._answers = Answers(self, scheduler.monotonic)
        self._controller_admin = ControllerAdmin(self, self.element)
        self.keypad = Keypad(self, self.element, rng)
        self._join_desk = JoinDesk(
            self, self.element.lock_id, self.pairing, self._timers
        )
        self.firmware = FirmwareUpdater(
            self.state.firmware,
            SlotStore(store.directory / FIRMWARE_DIR),
            model=self.config.model,
            persist=self.persist,
        )
        self._firmware_requests = FirmwareRequests(
            self,
            self.firmware,
            self._timers,
            reboot_seconds=self.config.reboot_seconds,
        )
        if self.rollback is None:
            self.firmware.provision(
                self.config.firmware_version, self.config.release_key
            )
        self.persist()
        if self.rollback is None and self.state.firmware.trial is not None:
            # Power came back while a new image was on trial: this boot is
            # the trial boot (or, if it already had one, the fallback).
            self._firmware_requests.trial_boot()

    # Clock and lifecycle ------------------------------------------------------

    def now_ms(self) -> int:
        """Return the lock's wall clock in milliseconds (simulated skew included)."""
        return int(self._scheduler.wall_time() * 1000)

    @property
    def lock_id(self) -> bytes:
        """Return the lock id."""
        return self.element.lock_id

    @property
    def rebooting(self) -> bool:
        """Return whether the lock is rebooting into a new image (frames are dropped)."""
        return self._firmware_requests.rebooting

    def start(self) -> None:
        """Start the heartbeat, rotate or erase prekeys if overdue (in lockdown: tamper reports)."""
        if self.rollback is not None:
            self._report_tamper()
            return
        self._timers.start(
            LockTimer.HEARTBEAT, self._heartbeat_interval(), self._heartbeat_tick
        )
        self._prekeys.rotation_tick()
        self._join_desk.schedule_failsafe()

    def shutdown(self) -> None:
        """Stop timers (the mechanism stops where it is)."""
        self._timers.cancel_all()
        self._relock_cover.cancel()
        self.mechanism.shutdown()

    def _report_tamper(self) -> None:
        """Warn the admins, again every heartbeat period (they may be offline now)."""
        frames = tamper_frames(self.endpoint, self.wire_status(), self.now_ms())
        if self.online:
            for frame in frames:
                self._outbox(wrap(Channel.ENVELOPE, frame))
        self._timers.start(
            LockTimer.TAMPER, self._heartbeat_interval(), self._report_tamper
        )

    def _heartbeat_interval(self) -> float:
        return heartbeat_interval(
            self.config.heartbeat_seconds, self.config.heartbeat_jitter
        )

    def _heartbeat_tick(self) -> None:
        self.send_heartbeat()
        self._timers.start(
            LockTimer.HEARTBEAT, self._heartbeat_interval(), self._heartbeat_tick
        )

    # Status ----------------------------------------------------------------

    def wire_status(self) -> LockStatus:
        """Return the lock's state as the protocol reports it."""
        return wire_status(
            self.mechanism.status,
            self.mechanism.config,
            self.firmware.running_version,
        )

    def describe(self) -> dict[str, object]:
        """Return a secret-free summary for the admin channel."""
        return describe_lock(self)

    # Persistence -----------------------------------------------------------

    def persist(self) -> None:
        """Write the sealed state (nothing in lockdown)."""
        if self.rollback is not None:
            # Sealing the old state would make it current: write nothing.
            return
        self.state.last_sent_counter = self.endpoint.last_sent_counter
        self.state.mechanism = self.mechanism.status
        self.state.settings.auto_relock_seconds = int(
            self.mechanism.config.auto_relock_seconds or 0
        )
        save_state(self._store, self.state)

    def send(self, frames: list[bytes]) -> None:
        """Persist (the send counter moved), then hand envelopes to the links.

        Frames leave in routing-id order; while a command is finishing they
        wait for its result, so that result leaves among the others' events.
        """
        self.persist()
        if self._held is not None:
            self._held.extend(frames)
            return
        if not self.online:
            return
        for frame in in_routing_order(frames):
            self._outbox(wrap(Channel.ENVELOPE, frame))

    def _release_held(self) -> None:
        held, self._held = self._held, None
        if held:
            self.send(held)

    # Incoming frames -------------------------------------------------------

    def receive(self, frame: bytes) -> None:
        """Handle one frame from any link; bad frames are dropped, never raised."""
        if not self.online or self.rebooting:
            return
        if self.rollback is not None:
            self.frames_refused_in_lockdown += 1
            return
        # The wall clock may have passed a fail-safe before its timer fired.
        self._join_desk.expire_overdue()
        try:
            channel, body = unwrap(frame)
        except ProtocolError as err:
            self._dropped(err.code)
            return
        if channel is Channel.PAIRING:
            reply = self._join_desk.receive(body)
            if reply is not None and self.online:
                self._outbox(wrap(Channel.PAIRING, reply))
        elif channel is Channel.ENVELOPE:
            self._receive_envelope(body)
        else:
            self._dropped(ErrorCode.UNEXPECTED_MESSAGE)

    def has_open_code(self, discriminator: int) -> bool:
        """Return whether a pairing probe for ``discriminator`` gets an answer now."""
        return self._join_desk.has_open_code(discriminator, self.now_ms())

    def accepts_pairing(self, now_ms: int | None = None) -> bool:
        """Return whether a pairing could start now: the button's window or an invitation."""
        return self._join_desk.accepts_pairing(
            self.now_ms() if now_ms is None else now_ms
        )

    def _receive_envelope(self, frame: bytes) -> None:
        try:
            message = self.endpoint.open(frame)
        except UnauthorizedError as err:
            # Authentic and fresh, but not allowed: the counter moved, persist it,
            # then say so with a signed refusal.
            self._heard_from(err.message.sender_id)
            self.audit(err.message, ResultCode.NOT_PERMITTED)
            self.respond(
                err.message, ResultCode.NOT_PERMITTED, "role does not allow this"
            )
            return
        except RevokedError as err:
            # Signed by the revoked controller itself: tell it, so it asks its
            # user to re-pair instead of retrying into silence.
            self.persist()
            self.audit(err.message, ResultCode.REVOKED)
            self.respond(err.message, ResultCode.REVOKED, "controller revoked")
            return
        except ProtocolError as err:
            self._dropped(err.code)
            if err.code is ErrorCode.UNKNOWN_PREKEY:
                self._send_resync_notice()
            return
        # The high-water mark (and a join made final) is durable before
        # anything happens.
        self._heard_from(message.sender_id)
        self._dispatch(message)

    def _heard_from(self, controller_id: bytes) -> None:
        """Make a new controller's join final, persist (the counter moved), tell the admins."""
        join = self._join_desk.commit_join(controller_id)
        self.persist()
        if join is not None:
            self._controller_admin.announce_join(
                join.controller_id, join.method, join.invited_by, join.invited_by_name
            )

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
                self.respond(message, ResultCode.OK)
            case MessageKind.CONTROLLER_ADD:
                self._controller_admin.add_controller(message)
            case MessageKind.CONTROLLER_REMOVE:
                self._controller_admin.remove_controller(message)
            case MessageKind.CONTROLLER_LIST:
                self._controller_admin.list_controllers(message)
            case MessageKind.INVITATION_CREATE:
                self._controller_admin.create_invitation(message)
            case MessageKind.INVITATION_REVOKE:
                self._controller_admin.revoke_invitation(message)
            case MessageKind.AUDIT_LOG_REQUEST:
                send_audit_log(self, message)
            case MessageKind.KEYPAD_CODE_SET:
                self.keypad.set_code(message)
            case MessageKind.KEYPAD_CODE_REMOVE:
                self.keypad.remove_code(message)
            case MessageKind.KEYPAD_CODE_LIST:
                self.keypad.list_codes(message)
            case MessageKind.TIME_SYNC:
                self._time_sync(message)
            case MessageKind.SETTINGS:
                self._apply_settings(message)
            case MessageKind.FIRMWARE_OFFER:
                self._firmware_requests.offer(message)
            case MessageKind.FIRMWARE_CHUNK:
                self._firmware_requests.chunk(message)
            case MessageKind.FIRMWARE_STATUS_REQUEST:
                self._firmware_requests.respond(message)
            case MessageKind.FIRMWARE_INSTALL:
                self._firmware_requests.install(
                    message,
                    secured=not self.config.refuse_update_when_unlocked
                    or self.mechanism.status.bolt is BoltState.LOCKED,
                )
            case MessageKind.KEY_ROTATION:
                # The endpoint already switched to the controller's new prekey.
                self.persist()
                self.respond(message, ResultCode.OK)
                self._answers.resend_recent(message.sender_id)
            case _:
                self.respond(
                    message, ResultCode.UNSUPPORTED, "not supported by this lock"
                )

    def _time_sync(self, message: VerifiedMessage) -> None:
        request = message.payload
        assert isinstance(request, TimeSync)
        self.respond(message, ResultCode.OK)

    def _apply_settings(self, message: VerifiedMessage) -> None:
        request = message.payload
        assert isinstance(request, Settings)
        # Persisted by set_auto_relock before the admin hears it took effect.
        self.set_auto_relock(request.auto_relock_seconds or None)
        self.audit(message, ResultCode.OK)
        self.respond(message, ResultCode.OK)

    # Responses -------------------------------------------------------------

    def respond(
        self, request: VerifiedMessage, result: ResultCode, reason: str = ""
    ) -> None:
        """Answer a request with a command result."""
        self._answers.respond(request, result, reason)

    def _send_resync_notice(self) -> None:
        """Publish the current signed prekeys to every link (rate-limited, never written)."""
        notice = self._prekeys.resync_notice(self._scheduler.monotonic())
        if notice is not None and self.online:
            self._outbox(wrap(Channel.RESYNC, notice))

    def _may_read_state(self, record: ControllerRecord) -> bool:
        return may_read_state_now(record, self.now_ms())

    def audit(self, message: VerifiedMessage, result: ResultCode) -> None:
        """Log a controller's request and its result."""
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
            result = refusal_result(err.refusal)
            self.audit(message, result)
            self.respond(message, result, err.refusal.value)
            return
        if self.on_motor_started is not None:
            self.on_motor_started(message.kind)

    def _motor_done(self, message: VerifiedMessage, status: MechanismStatus) -> None:
        if self._pending_motor is not None and self._pending_motor.request is message:
            self._pending_motor = None
        result = ResultCode.JAMMED if status.bolt is BoltState.JAMMED else ResultCode.OK
        self.audit(message, result)
        try:
            self.respond(
                message, result, "motor jammed" if result is ResultCode.JAMMED else ""
            )
        finally:
            self._release_held()

    # Events ------------------------------------------------------------------

    def _on_mechanism_event(self, event: MechanismEvent) -> None:
        controller_id, controller_name = NO_CONTROLLER, ""
        requester: bytes | None = None
        if event.source is Source.CONTROLLER and self._pending_motor is not None:
            controller_id = self._pending_motor.request.sender_id
            controller_name = self._pending_motor.controller_name
            if event.status.bolt not in MOVING:
                # The command's own end: its requester hears it from the
                # result, sent with these events (see `traffic_shape`).
                requester = controller_id
                self._held = []
        elif event.source is Source.KEYPAD:
            controller_name = self.keypad.code_name
        if event.status.bolt in MOVING:
            self._relock_cover.cancel()
        if event.kind is MechanismEventKind.SETTLED:
            self._after_settle(event)
        operation = operation_not_by_controller(event)
        if operation is not None:
            self.state.audit.append(
                self.now_ms(),
                operation,
                wire_source(event.source),
                ResultCode.OK,
                NO_CONTROLLER,
            )
        self.broadcast(
            MessageKind.EVENT,
            Event(
                wire_event_type(event.kind),
                wire_source(event.source),
                self.wire_status(),
                self.now_ms(),
                controller_id,
                controller_name,
            ),
            exclude=requester,
        )

    def _after_settle(self, event: MechanismEvent) -> None:
        """After a lock, report where an unlock's or an open's auto-relock would be."""
        config = self.mechanism.config
        if (
            event.status.bolt is BoltState.LOCKED
            and event.source in (Source.CONTROLLER, Source.KEYPAD)
            and config.auto_relock_seconds is not None
        ):
            self._relock_cover.after_lock(
                config.auto_relock_seconds,
                config.motor_seconds,
                config.open_hold_seconds,
            )

    def send_report(self) -> None:
        """Send the current state as a ``report`` event to everyone who may read it.

        Also what the runtime sends when its relay link is back after a loss:
        events sent meanwhile went nowhere (protocol.md 15.1, rule 8).
        """
        self.broadcast(
            MessageKind.EVENT,
            Event(
                EventType.REPORT,
                EventSource.UNKNOWN,
                self.wire_status(),
                self.now_ms(),
            ),
        )

    def broadcast(
        self,
        kind: MessageKind,
        payload: Event | Heartbeat | KeyRotation,
        *,
        exclude: bytes | None = None,
    ) -> None:
        """Seal `payload` to every controller that should get it, and send it.

        Events and heartbeats carry the lock's state: only controllers that
        may read it right now get them (not a guest outside its window).
        ``exclude`` is a requester that gets its command's result instead.
        """

        def recipients(record: ControllerRecord) -> bool:
            if record.controller_id == exclude:
                return False
            return isinstance(payload, KeyRotation) or self._may_read_state(record)

        try:
            frames = self.endpoint.broadcast(kind, payload, recipients=recipients)
        except ProtocolError as err:
            _LOGGER.warning("Could not seal a broadcast: %s", err.code.value)
            return
        # Sent even when empty: persisting the mechanism's new state matters
        # whether or not any controller is paired yet.
        self.send(list(frames.values()))

    def send_heartbeat(self) -> None:
        """Broadcast the full state (also what a silent relay would withhold)."""
        uptime = int(self._scheduler.monotonic() - self._boot_monotonic)
        self.broadcast(
            MessageKind.HEARTBEAT,
            Heartbeat(self.wire_status(), self.now_ms(), max(uptime, 0)),
        )

    def rotate_prekeys(self) -> None:
        """Rotate prekeys, announce the new ones, and erase expired private ones."""
        self._prekeys.rotate()

    # Firmware and the physical world (admin channel) -----------------------

    def fail_next_self_check(self, fail: bool = True) -> None:
        """Make the next firmware self-check fail (admin channel; tests the fallback)."""
        self.firmware.fail_next_self_check = fail

    def press_button(self) -> None:
        """Open pairing for the window; a press also clears a lockout (physical access)."""
        self.state.pairing_attempts.failures = 0
        self.pairing.open_window(
            duration_ms=int(self.config.pairing_window_seconds * 1000)
        )
        self.persist()
        _LOGGER.info(
            "Pairing button pressed: pairing open for %.0f s",
            self.config.pairing_window_seconds,
        )

    def factory_reset(self) -> None:
        """Go back to factory state (the long press); the label pairs again.

        The state forgets its controllers (see
        `DeviceState.forget_for_factory_reset`) and the prekeys are rotated.
        """
        now = self.now_ms()
        if self.rollback is not None:
            self._leave_lockdown()
        self.state.forget_for_factory_reset(self.config.audit_capacity)
        self.pairing.forget()
        self.mechanism.set_auto_relock(None)
        self.element.rotate_prekeys(now, self._rng)
        self.persist()
        self._join_desk.schedule_failsafe()
        _LOGGER.info("Factory reset: no controllers; press the button to pair")

    def _leave_lockdown(self) -> None:
        """Whoever holds the reset button is trusted: write fresh, current records.

        Every record is sealed again through the store tied to the secure
        counter, so the next boot finds them current; the old registry this
        lockdown booted from is wiped by the reset that called this.
        """
        self._timers.cancel_all()
        self._store = self._bound_store
        self.element.rebind(self._bound_store)
        self.rollback = None
        self.mechanism.set_listener(self._on_mechanism_event)
        _LOGGER.warning("Factory reset ends the rollback lockdown")
        self.start()

    def type_on_keypad(self, pin: str) -> KeypadOutcome:
        """Someone types a PIN on the keypad; a code that may open now unlocks.

        Raises `MechanismRefused` when the code was right but the bolt
        cannot move (jammed, busy, battery empty).
        """
        if self.rollback is not None:
            # In lockdown the stored codes may be an old copy: nothing opens.
            return KeypadOutcome.LOCKED_OUT
        outcome = self.keypad.check(pin)
        if outcome is KeypadOutcome.UNLOCKED:
            self.mechanism.unlock(Source.KEYPAD)
        return outcome

    def press_keypad_lock_key(self) -> None:
        """Press the keypad's lock key: it locks without a code, as on every keypad lock."""
        self.keypad.lock_key()
        self.mechanism.lock(Source.KEYPAD)

    def set_door(self, door: DoorState) -> None:
        """Change the door sensor reading."""
        self.mechanism.set_door(door)
        self.persist()

    def set_auto_relock(self, seconds: float | None) -> None:
        """Change the auto-relock delay (None turns it off); kept across restarts."""
        self.mechanism.set_auto_relock(seconds)
        self.persist()

    def set_online(self, online: bool) -> None:
        """Drop or restore every link (frames in either direction are lost)."""
        self.online = online
