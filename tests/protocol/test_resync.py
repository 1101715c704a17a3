"""Resynchronisation notices and key-age rules (protocol only, no I/O)."""

from __future__ import annotations

import pytest

from custom_components.secure_lock.protocol import (
    ErrorCode,
    LockIdentity,
    MalformedError,
    MessageKind,
    ProtocolError,
)
from custom_components.secure_lock.protocol.identity import DAY_MS, HOUR_MS
from custom_components.secure_lock.protocol.keys import SignedPrekey
from custom_components.secure_lock.protocol.messages import KeyRotation
from custom_components.secure_lock.protocol.resync import (
    MAX_NOTICE_PREKEYS,
    ResyncNotice,
    accept_lock_prekey,
)
from custom_components.secure_lock.protocol.rotation import (
    MAX_CHECK_INTERVAL_MS,
    erasure_due_ms,
    is_rotation_due,
    next_check_ms,
    rotation_due_ms,
)

from .conftest import T0, Pair


def _notice(pair: Pair) -> bytes:
    return ResyncNotice.create(
        pair.lock.lock_id, pair.lock.signing_key, pair.lock.public_bundle().prekeys
    ).to_bytes()


def test_controller_takes_a_newer_signed_lock_prekey(pair: Pair) -> None:
    """A genuine notice after a missed rotation names the lock's new prekey."""
    (prekey,) = pair.lock.rotate_prekeys(pair.rng, T0 + DAY_MS)
    assert accept_lock_prekey(pair.paired, _notice(pair), T0 + DAY_MS) == prekey


def test_a_notice_with_nothing_newer_changes_nothing(pair: Pair) -> None:
    """The current (or a replayed older) notice returns None: nothing to store."""
    old = _notice(pair)
    assert accept_lock_prekey(pair.paired, old, T0) is None
    (prekey,) = pair.lock.rotate_prekeys(pair.rng, T0 + DAY_MS)
    pair.paired.bundle = pair.paired.bundle.with_prekey(prekey)
    assert accept_lock_prekey(pair.paired, old, T0 + DAY_MS) is None


def test_forged_foreign_expired_and_garbled_notices_are_refused(pair: Pair) -> None:
    """Another key, another lock, an expired prekey or bad bytes: a typed error."""
    (prekey,) = pair.lock.rotate_prekeys(pair.rng, T0 + DAY_MS)
    other = LockIdentity.generate(pair.rng, now_ms=T0 + DAY_MS, suites=pair.lock.suites)
    forged = ResyncNotice.create(
        pair.lock.lock_id, other.signing_key, other.public_bundle().prekeys
    ).to_bytes()
    foreign = ResyncNotice.create(
        other.lock_id, pair.lock.signing_key, (prekey,)
    ).to_bytes()
    # The lock's own key signing another owner's prekey does not pass either.
    mixed = ResyncNotice.create(
        pair.lock.lock_id, pair.lock.signing_key, other.public_bundle().prekeys
    ).to_bytes()
    cases = {
        forged: ErrorCode.BAD_SIGNATURE,
        foreign: ErrorCode.WRONG_RECIPIENT,
        mixed: ErrorCode.IDENTITY_MISMATCH,
    }
    for notice, code in cases.items():
        with pytest.raises(ProtocolError) as err:
            accept_lock_prekey(pair.paired, notice, T0 + DAY_MS)
        assert err.value.code is code
    genuine = _notice(pair)
    with pytest.raises(ProtocolError) as err:
        accept_lock_prekey(pair.paired, genuine, prekey.valid_until)
    assert err.value.code is ErrorCode.EXPIRED
    flipped = bytearray(genuine)
    flipped[-1] ^= 1
    with pytest.raises(ProtocolError) as err:
        accept_lock_prekey(pair.paired, bytes(flipped), T0 + DAY_MS)
    assert err.value.code is ErrorCode.BAD_SIGNATURE
    for garbled in (b"", b"\x02" + genuine[1:], genuine[:-1], genuine + b"\x00"):
        with pytest.raises(ProtocolError):
            accept_lock_prekey(pair.paired, garbled, T0 + DAY_MS)
    zero = genuine[:17] + b"\x00" + genuine[-64:]
    with pytest.raises(MalformedError):
        ResyncNotice.parse(zero)
    with pytest.raises(ProtocolError) as err:
        ResyncNotice.create(pair.lock.lock_id, pair.lock.signing_key, ())
    assert err.value.code is ErrorCode.INVALID_ARGUMENT
    too_many = (pair.lock.public_bundle().prekeys[0],) * (MAX_NOTICE_PREKEYS + 1)
    with pytest.raises(ProtocolError):
        ResyncNotice.create(pair.lock.lock_id, pair.lock.signing_key, too_many)


def test_notice_without_the_pairing_suite_is_refused(pair: Pair) -> None:
    """A prekey of another suite is never taken (no downgrade through a notice)."""
    other_suite = next(s for s in type(pair.paired.suite) if s is not pair.paired.suite)
    signer = pair.lock.signing_key
    other = LockIdentity.generate(pair.rng, now_ms=T0 + DAY_MS, suites=(other_suite,))
    # Another suite's prekey signed by the real lock key: only the suite differs.
    prekey = other.public_bundle().prekeys[0]
    resigned = SignedPrekey.create(
        signer, prekey.public_key, prekey.valid_from, prekey.valid_until
    )
    notice = ResyncNotice.create(pair.lock.lock_id, signer, (resigned,)).to_bytes()
    with pytest.raises(ProtocolError) as err:
        accept_lock_prekey(pair.paired, notice, T0 + DAY_MS)
    assert err.value.code is ErrorCode.UNSUPPORTED_SUITE


def test_an_announcement_of_an_older_prekey_makes_it_current(pair: Pair) -> None:
    """A controller restored from a backup announces its older prekey; the lock seals to it."""
    restored = pair.controller.current_prekey(pair.paired.suite).signed
    (newer,) = pair.controller.rotate_prekeys(pair.rng, T0 + DAY_MS)
    record = pair.registry.get(pair.controller.key_id)
    assert record is not None
    record.bundle = record.bundle.with_prekey(newer)
    assert record.bundle.prekey_for(pair.paired.suite) == newer
    frame = pair.ctrl_ep.seal(
        MessageKind.KEY_ROTATION, KeyRotation(restored), now_ms=T0 + DAY_MS
    )
    pair.lock_ep.open(frame, T0 + DAY_MS)
    assert record.bundle.prekey_for(pair.paired.suite) == restored
    assert newer not in record.bundle.prekeys


def test_rotation_falls_due_by_age_and_checks_wait_at_most_ten_minutes(
    pair: Pair,
) -> None:
    """Due a lifetime after the newest key; retired keys are erased at their expiry."""
    lock = pair.lock
    assert rotation_due_ms(lock) == T0 + DAY_MS
    assert not is_rotation_due(lock, T0 + DAY_MS - 1)
    assert is_rotation_due(lock, T0 + DAY_MS)
    assert erasure_due_ms(lock) is None
    assert next_check_ms(lock, T0) == T0 + MAX_CHECK_INTERVAL_MS
    assert next_check_ms(lock, T0 + DAY_MS - 60_000) == T0 + DAY_MS
    assert next_check_ms(lock, T0 + 2 * DAY_MS) == T0 + 2 * DAY_MS
    lock.rotate_prekeys(pair.rng, T0 + DAY_MS)
    assert erasure_due_ms(lock) == T0 + DAY_MS + HOUR_MS
    assert next_check_ms(lock, T0 + DAY_MS + HOUR_MS - 1) == T0 + DAY_MS + HOUR_MS
