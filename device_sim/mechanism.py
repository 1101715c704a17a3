"""The physical lock: bolt motor, latch, door sensor, battery, thumb turn and keypad.

This module knows nothing of keys or frames.  The device layer asks it to move
and listens to its events; developers and tests drive the physical world
(door, jam, battery, thumb turn) through the same object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from .timing import Scheduler, TimerHandle


class BoltState(StrEnum):
    """Where the bolt and latch are."""

    LOCKED = "locked"
    UNLOCKED = "unlocked"
    LOCKING = "locking"
    UNLOCKING = "unlocking"
    OPENING = "opening"
    OPEN = "open"
    JAMMED = "jammed"


class DoorState(StrEnum):
    """What the door sensor reports."""

    OPEN = "open"
    CLOSED = "closed"


class Source(StrEnum):
    """Who or what moved the lock."""

    CONTROLLER = "controller"
    MANUAL = "manual"
    KEYPAD = "keypad"
    AUTO_RELOCK = "auto_relock"


class Refusal(StrEnum):
    """Why the mechanism did not carry out an operation."""

    JAMMED = "jammed"
    DOOR_OPEN = "door_open"
    BATTERY_EMPTY = "battery_empty"
    BUSY = "busy"
    NO_LATCH = "no_latch"


class MechanismEventKind(StrEnum):
    """What the mechanism reports to the device layer."""

    STATE = "state"
    DOOR = "door"
    JAM = "jam"
    LOW_BATTERY = "low_battery"
    TAMPER = "tamper"
    SETTLED = "settled"
    """A motor operation's hold time passed and nothing moved (a lock or an unlock).

    An open's latch springs back at that moment (a STATE event); reporting
    the other two at the same moment gives all three one pattern on the wire.
    """


class MechanismRefused(Exception):
    """The mechanism could not carry out the operation."""

    def __init__(self, refusal: Refusal) -> None:
        """Carry the reason as a stable code."""
        super().__init__(refusal.value)
        self.refusal = refusal


@dataclass(frozen=True, slots=True)
class MechanismConfig:
    """How the simulated hardware behaves."""

    motor_seconds: float = 1.0
    open_hold_seconds: float = 3.0
    has_latch: bool = True
    refuse_lock_when_door_open: bool = True
    auto_relock_seconds: float | None = None
    battery_drain_per_operation: float = 0.05
    low_battery_percent: float = 15.0


@dataclass(frozen=True, slots=True)
class MechanismStatus:
    """A snapshot of the physical state."""

    bolt: BoltState
    door: DoorState
    battery_percent: float
    last_source: Source | None


@dataclass(frozen=True, slots=True)
class MechanismEvent:
    """A change the device layer forwards to controllers."""

    kind: MechanismEventKind
    status: MechanismStatus
    source: Source | None = None


class Mechanism:
    """Bolt, latch, door and battery, moved by commands or by hand."""

    def __init__(
        self,
        scheduler: Scheduler,
        config: MechanismConfig | None = None,
        *,
        on_event: Callable[[MechanismEvent], None] | None = None,
        initial: MechanismStatus | None = None,
    ) -> None:
        """Start locked with the door closed and a full battery unless told otherwise."""
        self._scheduler = scheduler
        self.config = config or MechanismConfig()
        self._on_event = on_event or (lambda _event: None)
        self._status = initial or MechanismStatus(
            BoltState.LOCKED, DoorState.CLOSED, 100.0, None
        )
        if self._status.bolt in MOVING:
            # Power was cut mid-travel: the bolt stopped where it was, which
            # the sensor cannot place, so report a jam until someone moves it.
            self._status = replace(self._status, bolt=BoltState.JAMMED)
        self._jam_next = False
        self._timer: TimerHandle | None = None
        self._relock_timer: TimerHandle | None = None

    @property
    def status(self) -> MechanismStatus:
        """Return the current physical state."""
        return self._status

    # Motor operations (commands and keypad) ---------------------------------

    def lock(
        self, source: Source, on_done: Callable[[MechanismStatus], None] | None = None
    ) -> None:
        """Throw the bolt; `on_done` runs when it has finished moving."""
        if (
            self.config.refuse_lock_when_door_open
            and self._status.door is DoorState.OPEN
        ):
            raise MechanismRefused(Refusal.DOOR_OPEN)
        self._move(BoltState.LOCKING, BoltState.LOCKED, source, on_done)

    def unlock(
        self, source: Source, on_done: Callable[[MechanismStatus], None] | None = None
    ) -> None:
        """Retract the bolt."""
        self._move(BoltState.UNLOCKING, BoltState.UNLOCKED, source, on_done)

    def open(
        self, source: Source, on_done: Callable[[MechanismStatus], None] | None = None
    ) -> None:
        """Retract the bolt and pull the latch; it springs back after a hold time."""
        if not self.config.has_latch:
            raise MechanismRefused(Refusal.NO_LATCH)
        self._move(BoltState.OPENING, BoltState.OPEN, source, on_done)

    def _move(
        self,
        moving: BoltState,
        target: BoltState,
        source: Source,
        on_done: Callable[[MechanismStatus], None] | None,
    ) -> None:
        if self._status.bolt in MOVING:
            raise MechanismRefused(Refusal.BUSY)
        if self._status.battery_percent <= 0:
            raise MechanismRefused(Refusal.BATTERY_EMPTY)
        self._cancel_relock()
        if self._timer is not None:
            # Only the latch release or a settle can be pending here (a moving
            # bolt was refused above): the new movement supersedes it, or a
            # release would later flip a freshly locked bolt to "unlocked".
            self._timer.cancel()
            self._timer = None
        self._drain_battery()
        self._status = replace(self._status, bolt=moving, last_source=source)

        def finish() -> None:
            self._timer = None
            if self._jam_next:
                self._jam_next = False
                self._status = replace(self._status, bolt=BoltState.JAMMED)
                self._emit(MechanismEventKind.JAM, source)
            else:
                self._status = replace(self._status, bolt=target)
                self._emit(MechanismEventKind.STATE, source)
                self._after_move(target)
            if on_done is not None:
                on_done(self._status)

        self._emit(MechanismEventKind.STATE, source)
        if self.config.motor_seconds <= 0:
            finish()
        else:
            self._timer = self._scheduler.call_later(self.config.motor_seconds, finish)

    def _after_move(self, reached: BoltState) -> None:
        # Every motor operation ends the same way, one hold time after the
        # bolt arrives: an open's latch springs back, a lock or an unlock
        # settles.  Auto-relock counts from then for an unlock as for an
        # open, so its timing does not tell the two apart either.
        if reached is BoltState.OPEN:
            self._timer = self._scheduler.call_later(
                self.config.open_hold_seconds, self._release_latch
            )
        elif reached in (BoltState.UNLOCKED, BoltState.LOCKED):
            self._timer = self._scheduler.call_later(
                self.config.open_hold_seconds, self._settle
            )

    def _settle(self) -> None:
        self._timer = None
        self._emit(MechanismEventKind.SETTLED, self._status.last_source)
        if self._status.bolt is BoltState.UNLOCKED:
            self._arm_relock()

    def _release_latch(self) -> None:
        self._timer = None
        self._status = replace(self._status, bolt=BoltState.UNLOCKED)
        self._emit(MechanismEventKind.STATE, self._status.last_source)
        self._arm_relock()

    # Auto-relock -----------------------------------------------------------

    def _arm_relock(self) -> None:
        self._cancel_relock()
        if self.config.auto_relock_seconds is None:
            return
        self._relock_timer = self._scheduler.call_later(
            self.config.auto_relock_seconds, self._auto_relock
        )

    def _auto_relock(self) -> None:
        self._relock_timer = None
        if self._status.bolt is not BoltState.UNLOCKED:
            return
        if self._status.door is DoorState.OPEN:
            # Relock once the door closes rather than throwing the bolt into the frame.
            return
        try:
            self.lock(Source.AUTO_RELOCK)
        except MechanismRefused:
            return

    def _cancel_relock(self) -> None:
        if self._relock_timer is not None:
            self._relock_timer.cancel()
            self._relock_timer = None

    def set_auto_relock(self, seconds: float | None) -> None:
        """Change the auto-relock delay (None turns it off)."""
        self.config = replace(self.config, auto_relock_seconds=seconds)
        if self._status.bolt is BoltState.UNLOCKED:
            self._arm_relock()
        else:
            self._cancel_relock()

    # The physical world ------------------------------------------------------

    def turn_by_hand(self, *, lock: bool) -> None:
        """Turn the thumb turn or key: moves at once, whatever the motor was doing."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._jam_next = False
        target = BoltState.LOCKED if lock else BoltState.UNLOCKED
        self._status = replace(self._status, bolt=target, last_source=Source.MANUAL)
        self._emit(MechanismEventKind.STATE, Source.MANUAL)
        if target is BoltState.UNLOCKED:
            self._arm_relock()
        else:
            self._cancel_relock()

    def keypad(self, *, lock: bool) -> None:
        """Operate the motor from the keypad after a correct code (the keypad checks codes)."""
        if lock:
            self.lock(Source.KEYPAD)
        else:
            self.unlock(Source.KEYPAD)

    def set_door(self, door: DoorState) -> None:
        """Report a new door sensor reading."""
        if door is self._status.door:
            return
        self._status = replace(self._status, door=door)
        self._emit(MechanismEventKind.DOOR, None)
        if (
            door is DoorState.CLOSED
            and self._status.bolt is BoltState.UNLOCKED
            and self.config.auto_relock_seconds is not None
        ):
            self._arm_relock()

    def jam_next_operation(self) -> None:
        """Make the next motor operation stall (a bolt hitting the strike plate)."""
        self._jam_next = True

    def set_battery(self, percent: float) -> None:
        """Set the battery level (for tests and developers)."""
        was_low = self._is_low()
        self._status = replace(
            self._status, battery_percent=min(max(percent, 0.0), 100.0)
        )
        if self._is_low() and not was_low:
            self._emit(MechanismEventKind.LOW_BATTERY, None)

    def tamper(self) -> None:
        """Someone forced the housing open."""
        self._emit(MechanismEventKind.TAMPER, None)

    # Internals -------------------------------------------------------------

    def _drain_battery(self) -> None:
        self.set_battery(
            self._status.battery_percent - self.config.battery_drain_per_operation
        )

    def _is_low(self) -> bool:
        return self._status.battery_percent <= self.config.low_battery_percent

    def _emit(self, kind: MechanismEventKind, source: Source | None) -> None:
        self._on_event(MechanismEvent(kind, self._status, source))

    def set_listener(self, on_event: Callable[[MechanismEvent], None]) -> None:
        """Send events to ``on_event`` from now on."""
        self._on_event = on_event

    def shutdown(self) -> None:
        """Cancel pending timers (the process is going away)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._cancel_relock()


MOVING = frozenset({BoltState.LOCKING, BoltState.UNLOCKING, BoltState.OPENING})
"""Bolt states while the motor runs."""
