"""Prekey rotation, signed announcements and forward secrecy after erasure."""

from __future__ import annotations

import pytest

from custom_components.secure_lock.protocol import (
    Command,
    ErrorCode,
    LockIdentity,
    MessageKind,
    ProtocolError,
    SuiteId,
)
from custom_components.secure_lock.protocol.envelope import HEADER_SIZE, OuterHeader
from custom_components.secure_lock.protocol.identity import DAY_MS, HOUR_MS
from custom_components.secure_lock.protocol.messages import KeyRotation

from .conftest import T0, Pair, pair_devices


def _rotate_lock(pair: Pair, now: int) -> None:
    (prekey,) = pair.lock.rotate_prekeys(pair.rng, now)
    frames = pair.lock_ep.broadcast(
        MessageKind.KEY_ROTATION, KeyRotation(prekey), now_ms=now
    )
    pair.ctrl_ep.open(frames[pair.controller.key_id], now)


def test_lock_rotation_is_announced_and_used(pair: Pair) -> None:
    """After the signed announcement the controller encrypts to the new prekey."""
    old_id = pair.lock.current_prekey(pair.paired.suite).signed.prekey_id
    _rotate_lock(pair, T0 + DAY_MS)
    new_id = pair.lock.current_prekey(pair.paired.suite).signed.prekey_id
    assert new_id != old_id
    frame = pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0 + DAY_MS)
    assert OuterHeader.parse(frame).prekey_id == new_id
    assert pair.lock_ep.open(frame, T0 + DAY_MS)


def test_frame_captured_before_rotation_is_unreadable_after_erasure(pair: Pair) -> None:
    """Forward secrecy: once the old private prekey is erased nobody can open it."""
    suite = pair.paired.suite
    captured = pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0)
    _rotate_lock(pair, T0 + DAY_MS)
    # Within the grace period in-flight frames still open.
    assert pair.lock.erase_expired_prekeys(T0 + DAY_MS) == 0
    late = pair.ctrl_ep.seal(MessageKind.LOCK, Command(), now_ms=T0)
    assert pair.lock_ep.open(late, T0 + 20_000)
    erase_at = T0 + DAY_MS + HOUR_MS
    assert pair.lock.erase_expired_prekeys(erase_at) == 1
    with pytest.raises(ProtocolError) as info:
        pair.lock_ep.open(captured, T0 + 1)
    assert info.value.code is ErrorCode.UNKNOWN_PREKEY
    # Even an attacker who steals the whole stored identity now, and ignores
    # the prekey id, cannot unwrap the captured content key with any key left.
    stolen = LockIdentity.from_bytes(pair.lock.to_bytes())
    info_label = b"secure-lock/v1/frame-key\x00" + captured[:HEADER_SIZE]
    wrapped = captured[HEADER_SIZE : HEADER_SIZE + len(captured)]
    for prekey in stolen.prekeys:
        with pytest.raises(ProtocolError) as info:
            prekey.private_key.open(wrapped[: _wrapped_len(suite)], info_label)
        assert info.value.code is ErrorCode.DECRYPT_FAILED


def _wrapped_len(suite: SuiteId) -> int:
    from custom_components.secure_lock.protocol.suites import params  # noqa: PLC0415

    return params(suite).enc_size + 48


def test_controller_rotation_reaches_the_lock(pair: Pair) -> None:
    """Controllers rotate too; the lock answers on the new prekey."""
    (prekey,) = pair.controller.rotate_prekeys(pair.rng, T0 + DAY_MS)
    announce = pair.ctrl_ep.seal(
        MessageKind.KEY_ROTATION, KeyRotation(prekey), now_ms=T0 + DAY_MS
    )
    pair.lock_ep.open(announce, T0 + DAY_MS)
    record = pair.registry.get(pair.controller.key_id)
    assert record is not None
    assert record.bundle.prekey_for(pair.paired.suite) == prekey
    request = pair.lock_ep.open(
        pair.ctrl_ep.seal(MessageKind.LOCK, Command(), now_ms=T0 + DAY_MS), T0 + DAY_MS
    )
    from custom_components.secure_lock.protocol import CommandResult, ResultCode  # noqa: PLC0415

    from .samples import STATUS  # noqa: PLC0415

    reply = pair.lock_ep.respond(
        request, CommandResult(ResultCode.OK, STATUS, T0, 0), now_ms=T0 + DAY_MS
    )
    assert OuterHeader.parse(reply).prekey_id == prekey.prekey_id
    assert pair.controller.erase_expired_prekeys(T0 + 2 * DAY_MS + HOUR_MS) == 1
    assert pair.ctrl_ep.open(reply, T0 + DAY_MS)


def test_rotation_signed_by_someone_else_is_refused(suite: SuiteId) -> None:
    """An announcement must carry the sender's own identity signature."""
    pair = pair_devices(suite)
    other = pair_devices(suite, seed=b"other")
    (foreign,) = other.lock.rotate_prekeys(other.rng, T0 + 1)
    frame = pair.lock_ep.seal(
        pair.controller.key_id,
        MessageKind.KEY_ROTATION,
        KeyRotation(foreign),
        now_ms=T0 + 1,
    )
    with pytest.raises(ProtocolError) as info:
        pair.ctrl_ep.open(frame, T0 + 1)
    assert info.value.code is ErrorCode.IDENTITY_MISMATCH
