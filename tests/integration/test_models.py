"""Small pure pieces: who changed the lock, sensor values, stored records."""

from __future__ import annotations

from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.secure_lock.binary_sensor import BINARY_SENSORS
from custom_components.secure_lock.const import CONF_PAIRED_LOCK, DOMAIN
from custom_components.secure_lock.entry_data import paired_lock_from_entry
from custom_components.secure_lock.protocol import (
    Event,
    EventSource,
    EventType,
    LockIdentity,
    PairedLock,
    Role,
    SuiteId,
)
from custom_components.secure_lock.protocol.state import LockStatus
from custom_components.secure_lock.snapshot import changed_by_of


def test_changed_by_names_every_source() -> None:
    """Each source maps to what changed_by shows; an unknown one shows nothing.

    A controller and a keypad code show their names; the keypad's lock key
    (no code, no name) shows "keypad".
    """
    status = LockStatus()
    names = {
        source: changed_by_of(
            Event(EventType.STATE_CHANGED, source, status, 0, controller_name="Phone")
        )
        for source in EventSource
    }
    assert names == {
        EventSource.UNKNOWN: None,
        EventSource.CONTROLLER: "Phone",
        EventSource.MANUAL: "manual",
        EventSource.KEYPAD: "Phone",
        EventSource.AUTO_RELOCK: "auto_relock",
    }
    lock_key = Event(EventType.STATE_CHANGED, EventSource.KEYPAD, status, 0)
    assert changed_by_of(lock_key) == "keypad"


def test_unknown_readings_stay_unknown() -> None:
    """No door reading and no battery reading are unknown, never closed or fine."""
    for description in BINARY_SENSORS:
        assert description.value_fn(LockStatus()) is None


def _record(lock: LockIdentity, counter: int = 0) -> PairedLock:
    return PairedLock(
        lock.lock_id,
        lock.public_bundle(),
        SuiteId.X25519_CHACHA20,
        Role.ADMIN,
        last_sent_counter=counter,
    )


def test_stored_counters_only_for_the_pinned_lock() -> None:
    """The store may move counters on; it can never swap the pinned lock's keys."""
    lock = LockIdentity.generate()
    pinned = _record(lock)
    entry = MockConfigEntry(
        domain=DOMAIN, data={CONF_PAIRED_LOCK: pinned.to_bytes().hex()}
    )
    newer = _record(lock, counter=42)
    stored = {"paired_lock": newer.to_bytes().hex()}
    assert paired_lock_from_entry(entry, stored).last_sent_counter == 42
    impostor = {"paired_lock": _record(LockIdentity.generate(), 99).to_bytes().hex()}
    assert paired_lock_from_entry(entry, impostor) == pinned
    assert paired_lock_from_entry(entry, {"paired_lock": "zz"}) == pinned
    assert paired_lock_from_entry(entry, {"paired_lock": "00"}) == pinned
    assert paired_lock_from_entry(entry, None) == pinned
