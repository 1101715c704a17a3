"""Stored registries: tampered records are refused, marks never go back."""

from __future__ import annotations

from dataclasses import replace

import pytest

from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    ControllerRecord,
    ControllerRegistry,
    ErrorCode,
    MalformedError,
    PairedLock,
    ProtocolError,
    Role,
    SuiteId,
    supported_suites,
)
from custom_components.secure_lock.protocol.messages import ControllerAdd
from custom_components.secure_lock.protocol.registry import (
    _PAIRED_LOCK_MAGIC,
    _PAIRED_LOCK_MAGIC_V1,
    _REGISTRY_MAGIC,
)
from custom_components.secure_lock.protocol.rng import DeterministicRng

from .conftest import T0, Pair


def test_record_whose_id_is_not_its_key_is_refused(pair: Pair) -> None:
    """A stored record claiming another controller's id does not load."""
    stored = bytearray(pair.registry.to_bytes())
    assert ControllerRegistry.from_bytes(bytes(stored)).records.keys() == (
        pair.registry.records.keys()
    )
    stored[len(_REGISTRY_MAGIC) + 2] ^= 1  # first byte of the first record's id
    with pytest.raises(MalformedError, match="does not match"):
        ControllerRegistry.from_bytes(bytes(stored))


def test_replacing_a_record_keeps_the_higher_mark(pair: Pair) -> None:
    """Re-adding a controller must not reopen the counters it already used."""
    controller_id = pair.controller.key_id
    pair.registry.advance(controller_id, 1000)
    pair.registry.advance(controller_id, 10)  # marks never go back
    record = pair.registry.get(controller_id)
    assert record is not None
    assert record.high_water == 1000
    pair.registry.add(replace(record, name="renamed", high_water=5))
    assert pair.registry.high_water(controller_id) == 1000
    assert pair.registry.records[controller_id].name == "renamed"


def test_unknown_controllers(pair: Pair) -> None:
    """Revoking an unknown id is an error; advancing one records nothing."""
    stranger = bytes(16)
    before = pair.registry.to_bytes()
    with pytest.raises(ProtocolError) as err:
        pair.registry.revoke(stranger)
    assert err.value.code is ErrorCode.UNKNOWN_SENDER
    pair.registry.advance(stranger, 99)
    assert pair.registry.high_water(stranger) == 0
    assert pair.registry.to_bytes() == before


def test_paired_lock_tracks_only_its_lock(pair: Pair) -> None:
    """A controller's record keeps a mark for its lock and ignores other peers."""
    lock_id = pair.paired.bundle.key_id
    pair.paired.advance(lock_id, 77)
    pair.paired.advance(lock_id, 5)
    pair.paired.advance(bytes(16), 1 << 40)
    assert pair.paired.high_water(lock_id) >= 77
    assert pair.paired.high_water(bytes(16)) == 0
    assert pair.paired.lock_high_water == max(77, pair.paired.lock_high_water)


def test_paired_lock_keeps_its_clock_anchor(pair: Pair) -> None:
    """The confirmed offset is stored; a record from before it anchors at its offset."""
    record = replace(pair.paired, clock_offset_ms=-4_000, clock_anchor_ms=1_500)
    again = PairedLock.from_bytes(record.to_bytes())
    assert (again.clock_offset_ms, again.confirmed_offset_ms) == (-4_000, 1_500)

    # Version 1: the same fields without the anchor.
    old = _PAIRED_LOCK_MAGIC_V1 + record.to_bytes()[len(_PAIRED_LOCK_MAGIC) : -8]
    loaded = PairedLock.from_bytes(old)
    assert loaded.confirmed_offset_ms == loaded.clock_offset_ms == -4_000
    assert PairedLock.from_bytes(loaded.to_bytes()) == loaded
    loaded.clock_anchor_ms = None
    assert loaded.confirmed_offset_ms == -4_000
    assert loaded.to_bytes() != old
    with pytest.raises(MalformedError):
        PairedLock.from_bytes(old + bytes(8))
    with pytest.raises(MalformedError):
        PairedLock.from_bytes(b"SLPL\x03" + old[5:])


@pytest.mark.skipif(
    len(supported_suites()) < 2, reason="needs a second suite to be missing"
)
def test_controller_without_a_common_suite_is_not_added() -> None:
    """An admin cannot add a controller that offers only suites the lock lacks."""
    rng = DeterministicRng(b"suites")
    newcomer = ControllerIdentity.generate(
        rng, now_ms=T0, suites=(SuiteId.MLKEM768_X25519_CHACHA20,)
    )
    request = ControllerAdd(newcomer.public_bundle(), "phone", Role.OPERATOR)
    with pytest.raises(ProtocolError) as err:
        ControllerRecord.from_add(request, (SuiteId.X25519_CHACHA20,))
    assert err.value.code is ErrorCode.UNSUPPORTED_SUITE
    record = ControllerRecord.from_add(
        request, (SuiteId.MLKEM768_X25519_CHACHA20, SuiteId.X25519_CHACHA20)
    )
    assert record.suite is SuiteId.MLKEM768_X25519_CHACHA20
