"""The simulated lock's physical model: motor, latch, door, battery, manual use."""

from __future__ import annotations

import pytest

from device_sim.mechanism import (
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
from device_sim.timing import ManualScheduler


@pytest.fixture(name="scheduler")
def scheduler_fixture() -> ManualScheduler:
    """Return a clock that moves only when the test says so."""
    return ManualScheduler()


@pytest.fixture(name="events")
def events_fixture() -> list[MechanismEvent]:
    """Collect what the mechanism reports."""
    return []


def _mechanism(
    scheduler: ManualScheduler, events: list[MechanismEvent], **config: object
) -> Mechanism:
    return Mechanism(scheduler, MechanismConfig(**config), on_event=events.append)  # type: ignore[arg-type]


def test_unlock_passes_through_unlocking_and_reports_completion(
    scheduler: ManualScheduler, events: list[MechanismEvent]
) -> None:
    """The bolt takes the motor time to move, and says so at both ends."""
    mechanism = _mechanism(scheduler, events, motor_seconds=1.0)
    done: list[MechanismStatus] = []
    mechanism.unlock(Source.CONTROLLER, done.append)
    assert mechanism.status.bolt is BoltState.UNLOCKING
    assert done == []
    scheduler.advance(0.99)
    assert mechanism.status.bolt is BoltState.UNLOCKING
    scheduler.advance(0.01)
    assert mechanism.status.bolt is BoltState.UNLOCKED
    assert [s.bolt for s in done] == [BoltState.UNLOCKED]
    assert [(e.kind, e.status.bolt, e.source) for e in events] == [
        (MechanismEventKind.STATE, BoltState.UNLOCKING, Source.CONTROLLER),
        (MechanismEventKind.STATE, BoltState.UNLOCKED, Source.CONTROLLER),
    ]


def test_open_unlatches_then_returns_to_unlocked(
    scheduler: ManualScheduler, events: list[MechanismEvent]
) -> None:
    """Open pulls the latch, holds it, then springs back to unlocked (not locked)."""
    mechanism = _mechanism(scheduler, events, motor_seconds=0, open_hold_seconds=3)
    mechanism.open(Source.CONTROLLER)
    assert mechanism.status.bolt is BoltState.OPEN
    scheduler.advance(3)
    assert mechanism.status.bolt is BoltState.UNLOCKED


def test_locking_while_open_cancels_the_latch_release(
    scheduler: ManualScheduler, events: list[MechanismEvent]
) -> None:
    """Locked right after an open stays locked when the latch hold time runs out."""
    mechanism = _mechanism(scheduler, events, motor_seconds=0, open_hold_seconds=3)
    mechanism.open(Source.CONTROLLER)
    mechanism.lock(Source.CONTROLLER)
    assert mechanism.status.bolt is BoltState.LOCKED
    scheduler.advance(10)
    assert mechanism.status.bolt is BoltState.LOCKED
    assert events[-1].status.bolt is BoltState.LOCKED


def test_open_refused_without_latch(
    scheduler: ManualScheduler, events: list[MechanismEvent]
) -> None:
    """A lock without a latch cannot unlatch, and nothing moves."""
    mechanism = _mechanism(scheduler, events, motor_seconds=0, has_latch=False)
    with pytest.raises(MechanismRefused) as err:
        mechanism.open(Source.CONTROLLER)
    assert err.value.refusal is Refusal.NO_LATCH
    assert mechanism.status.bolt is BoltState.LOCKED
    assert events == []


def test_jam_is_reported_as_jam_not_success(
    scheduler: ManualScheduler, events: list[MechanismEvent]
) -> None:
    """An injected jam stops the bolt: the state is jammed and a jam event goes out."""
    mechanism = _mechanism(scheduler, events, motor_seconds=0)
    mechanism.unlock(Source.CONTROLLER)
    mechanism.jam_next_operation()
    done: list[MechanismStatus] = []
    mechanism.lock(Source.CONTROLLER, done.append)
    assert mechanism.status.bolt is BoltState.JAMMED
    assert done[-1].bolt is BoltState.JAMMED
    assert events[-1].kind is MechanismEventKind.JAM
    # The next operation works again: the jam was one stall, not a broken motor.
    mechanism.lock(Source.CONTROLLER)
    assert mechanism.status.bolt is BoltState.LOCKED


def test_lock_refused_while_door_open(
    scheduler: ManualScheduler, events: list[MechanismEvent]
) -> None:
    """With the option on, the bolt is not thrown into an open door frame."""
    mechanism = _mechanism(scheduler, events, motor_seconds=0)
    mechanism.unlock(Source.CONTROLLER)
    mechanism.set_door(DoorState.OPEN)
    with pytest.raises(MechanismRefused) as err:
        mechanism.lock(Source.CONTROLLER)
    assert err.value.refusal is Refusal.DOOR_OPEN
    assert mechanism.status.bolt is BoltState.UNLOCKED
    mechanism.set_door(DoorState.CLOSED)
    mechanism.lock(Source.CONTROLLER)
    assert mechanism.status.bolt is BoltState.LOCKED


def test_lock_allowed_with_door_open_when_option_off(
    scheduler: ManualScheduler, events: list[MechanismEvent]
) -> None:
    """The refusal is a setting, not a hard rule."""
    mechanism = _mechanism(
        scheduler, events, motor_seconds=0, refuse_lock_when_door_open=False
    )
    mechanism.unlock(Source.CONTROLLER)
    mechanism.set_door(DoorState.OPEN)
    mechanism.lock(Source.CONTROLLER)
    assert mechanism.status.bolt is BoltState.LOCKED


def test_busy_while_moving(
    scheduler: ManualScheduler, events: list[MechanismEvent]
) -> None:
    """A second command during travel is refused instead of reversing the motor."""
    mechanism = _mechanism(scheduler, events, motor_seconds=1)
    mechanism.unlock(Source.CONTROLLER)
    with pytest.raises(MechanismRefused) as err:
        mechanism.lock(Source.CONTROLLER)
    assert err.value.refusal is Refusal.BUSY


def test_auto_relock_after_delay_with_source(
    scheduler: ManualScheduler, events: list[MechanismEvent]
) -> None:
    """Auto-relock throws the bolt N seconds after the unlock settled, as after an open."""
    mechanism = _mechanism(scheduler, events, motor_seconds=0, auto_relock_seconds=30)
    hold = mechanism.config.open_hold_seconds
    mechanism.unlock(Source.CONTROLLER)
    scheduler.advance(hold + 29)
    assert mechanism.status.bolt is BoltState.UNLOCKED
    scheduler.advance(1)
    assert mechanism.status.bolt is BoltState.LOCKED
    assert events[-1].source is Source.AUTO_RELOCK


@pytest.mark.parametrize("operation", ["lock", "unlock", "open"])
def test_every_motor_operation_ends_one_hold_time_after_the_bolt_arrives(
    scheduler: ManualScheduler, events: list[MechanismEvent], operation: str
) -> None:
    """Lock, unlock and open emit the same events at the same moments (traffic shape)."""
    mechanism = _mechanism(scheduler, events, motor_seconds=1, auto_relock_seconds=20)
    if operation == "lock":
        mechanism.unlock(Source.MANUAL)
        scheduler.advance(1 + mechanism.config.open_hold_seconds)
    events.clear()
    getattr(mechanism, operation)(Source.CONTROLLER)
    start = scheduler.monotonic()
    timeline: list[tuple[float, MechanismEventKind]] = []
    mechanism.set_listener(
        lambda event: timeline.append((scheduler.monotonic() - start, event.kind))
    )
    scheduler.advance(1 + mechanism.config.open_hold_seconds)
    hold = mechanism.config.open_hold_seconds
    end = (
        MechanismEventKind.STATE if operation == "open" else MechanismEventKind.SETTLED
    )
    assert timeline == [(1, MechanismEventKind.STATE), (1 + hold, end)]
    assert mechanism.status.bolt is (
        BoltState.LOCKED if operation == "lock" else BoltState.UNLOCKED
    )


def test_auto_relock_waits_for_the_door_to_close(
    scheduler: ManualScheduler, events: list[MechanismEvent]
) -> None:
    """An open door postpones auto-relock until it closes again."""
    mechanism = _mechanism(scheduler, events, motor_seconds=0, auto_relock_seconds=10)
    mechanism.unlock(Source.CONTROLLER)
    mechanism.set_door(DoorState.OPEN)
    scheduler.advance(60)
    assert mechanism.status.bolt is BoltState.UNLOCKED
    mechanism.set_door(DoorState.CLOSED)
    scheduler.advance(10)
    assert mechanism.status.bolt is BoltState.LOCKED


def test_auto_relock_setting_changes_take_effect(
    scheduler: ManualScheduler, events: list[MechanismEvent]
) -> None:
    """Turning auto-relock off cancels a pending relock; turning it on arms one."""
    mechanism = _mechanism(scheduler, events, motor_seconds=0, auto_relock_seconds=10)
    mechanism.unlock(Source.CONTROLLER)
    mechanism.set_auto_relock(None)
    scheduler.advance(60)
    assert mechanism.status.bolt is BoltState.UNLOCKED
    assert scheduler.pending == 0
    mechanism.set_auto_relock(5)
    scheduler.advance(5)
    assert mechanism.status.bolt is BoltState.LOCKED


def test_manual_turn_overrides_motor_and_reports_manual(
    scheduler: ManualScheduler, events: list[MechanismEvent]
) -> None:
    """The thumb turn moves the bolt at once and is reported with source manual."""
    mechanism = _mechanism(scheduler, events, motor_seconds=1)
    mechanism.unlock(Source.CONTROLLER)
    mechanism.turn_by_hand(lock=True)
    assert mechanism.status.bolt is BoltState.LOCKED
    assert events[-1].source is Source.MANUAL
    scheduler.advance(5)  # the cancelled motor completion must not undo the turn
    assert mechanism.status.bolt is BoltState.LOCKED


def test_keypad_operations_name_the_keypad(
    scheduler: ManualScheduler, events: list[MechanismEvent]
) -> None:
    """Keypad operations go through the motor and say where they came from."""
    mechanism = _mechanism(scheduler, events, motor_seconds=0)
    mechanism.keypad(lock=False)
    assert mechanism.status.bolt is BoltState.UNLOCKED
    mechanism.keypad(lock=True)
    assert mechanism.status.bolt is BoltState.LOCKED
    assert {e.source for e in events} == {Source.KEYPAD}


def test_battery_drains_and_warns_once(
    scheduler: ManualScheduler, events: list[MechanismEvent]
) -> None:
    """Each operation costs battery; crossing the threshold raises one warning."""
    mechanism = _mechanism(
        scheduler, events, motor_seconds=0, battery_drain_per_operation=1.0
    )
    mechanism.set_battery(16.5)
    mechanism.unlock(Source.CONTROLLER)
    assert mechanism.status.battery_percent == pytest.approx(15.5)
    assert not any(e.kind is MechanismEventKind.LOW_BATTERY for e in events)
    mechanism.lock(Source.CONTROLLER)
    mechanism.unlock(Source.CONTROLLER)
    low = [e for e in events if e.kind is MechanismEventKind.LOW_BATTERY]
    assert len(low) == 1


def test_empty_battery_refuses(
    scheduler: ManualScheduler, events: list[MechanismEvent]
) -> None:
    """A flat battery cannot drive the motor."""
    mechanism = _mechanism(scheduler, events, motor_seconds=0)
    mechanism.set_battery(0)
    with pytest.raises(MechanismRefused) as err:
        mechanism.unlock(Source.CONTROLLER)
    assert err.value.refusal is Refusal.BATTERY_EMPTY


def test_power_cut_mid_travel_reports_jammed(scheduler: ManualScheduler) -> None:
    """A bolt stopped mid-travel by a power cut is reported as jammed, never as locked."""
    mechanism = Mechanism(
        scheduler,
        initial=MechanismStatus(BoltState.LOCKING, DoorState.CLOSED, 80.0, None),
    )
    assert mechanism.status.bolt is BoltState.JAMMED


def test_tamper_and_door_events(
    scheduler: ManualScheduler, events: list[MechanismEvent]
) -> None:
    """Door changes and tampering are reported; a repeated door reading is not."""
    mechanism = _mechanism(scheduler, events)
    mechanism.set_door(DoorState.OPEN)
    mechanism.set_door(DoorState.OPEN)
    mechanism.tamper()
    assert [e.kind for e in events] == [
        MechanismEventKind.DOOR,
        MechanismEventKind.TAMPER,
    ]


def test_shutdown_cancels_timers(
    scheduler: ManualScheduler, events: list[MechanismEvent]
) -> None:
    """Nothing fires after shutdown."""
    mechanism = _mechanism(scheduler, events, motor_seconds=1, auto_relock_seconds=5)
    mechanism.unlock(Source.CONTROLLER)
    mechanism.shutdown()
    assert scheduler.pending == 0
