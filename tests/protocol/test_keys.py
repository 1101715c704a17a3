"""Keys and identities: ids, storage round trips, bundles, secrets never printed."""

from __future__ import annotations

import hashlib

import pytest

from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    ControllerPairing,
    ErrorCode,
    LockIdentity,
    LockPairing,
    LockPin,
    PairingAttempts,
    ProtocolError,
    PublicKeyBundle,
    SetupCode,
    SuiteId,
    suites as suites_module,
)
from custom_components.secure_lock.protocol.keys import SignedPrekey, key_id
from custom_components.secure_lock.protocol.rng import DeterministicRng
from custom_components.secure_lock.protocol.setup_code import CodeSecret
from custom_components.secure_lock.protocol.spake2plus import Prover, Verifier

from .conftest import T0


def test_key_id_is_a_hash_of_the_public_key() -> None:
    """Ids are the first 128 bits of a labelled SHA-256 of the public key."""
    raw = bytes(range(32))
    expected = hashlib.sha256(b"secure-lock/v1/key-id\x00" + raw).digest()[:16]
    assert key_id(raw) == expected


def test_lock_ids_are_random() -> None:
    """Two locks get unrelated ids (never derived from serial or MAC)."""
    first = LockIdentity.generate(suites=(SuiteId.X25519_CHACHA20,))
    second = LockIdentity.generate(suites=(SuiteId.X25519_CHACHA20,))
    assert first.lock_id != second.lock_id
    assert first.lock_id != first.key_id[:16]


def test_identities_round_trip_through_storage(suite: SuiteId) -> None:
    """to_bytes/from_bytes keep every key, and the public bundle verifies."""
    rng = DeterministicRng(b"store")
    lock = LockIdentity.generate(rng, now_ms=T0, suites=(suite,))
    ctrl = ControllerIdentity.generate(rng, now_ms=T0, suites=(suite,))
    assert LockIdentity.from_bytes(lock.to_bytes()).to_bytes() == lock.to_bytes()
    assert ControllerIdentity.from_bytes(ctrl.to_bytes()).to_bytes() == ctrl.to_bytes()
    bundle = lock.public_bundle()
    assert PublicKeyBundle.from_bytes(bundle.to_bytes()) == bundle
    with pytest.raises(ProtocolError):
        LockIdentity.from_bytes(ctrl.to_bytes())
    with pytest.raises(ProtocolError):
        ControllerIdentity.from_bytes(lock.to_bytes()[:-1])


def test_tampered_prekey_signature_is_refused(suite: SuiteId) -> None:
    """Bundles carry only prekeys signed by their identity key."""
    rng = DeterministicRng(b"tamper")
    lock = LockIdentity.generate(rng, now_ms=T0, suites=(suite,))
    other = LockIdentity.generate(rng, now_ms=T0, suites=(suite,))
    prekey = lock.current_prekey(suite).signed
    forged = SignedPrekey(
        prekey.owner_id,
        suite,
        other.current_prekey(suite).signed.prekey_id,
        other.current_prekey(suite).signed.public_key,
        prekey.valid_from,
        prekey.valid_until,
        prekey.signature,
    )
    bundle = PublicKeyBundle(lock.signing_key.public_key, (forged,))
    with pytest.raises(ProtocolError) as info:
        PublicKeyBundle.from_bytes(bundle.to_bytes())
    assert info.value.code is ErrorCode.BAD_SIGNATURE


def _secrets(identity: LockIdentity | ControllerIdentity) -> list[bytes]:
    found = [identity.signing_key.private_bytes()]
    found += [p.private_key.private_bytes() for p in identity.prekeys]
    return found


def test_private_keys_never_appear_in_repr_or_str(suite: SuiteId) -> None:
    """No key or identity object prints its private bytes in any form."""
    rng = DeterministicRng(b"repr")
    lock = LockIdentity.generate(rng, now_ms=T0, suites=(suite,))
    ctrl = ControllerIdentity.generate(rng, now_ms=T0, suites=(suite,))
    setup = SetupCode.generate(LockPin(lock.lock_id, lock.fingerprint), rng=rng)
    label = setup.secret_for(lock.lock_id)
    prover = Prover(label.prover, rng)
    objects: list[object] = [
        lock,
        ctrl,
        lock.signing_key,
        ctrl.signing_key,
        *lock.prekeys,
        *ctrl.prekeys,
        *(p.private_key for p in lock.prekeys),
        setup,
        label,
        label.prover,
        label.prover.verifier(),
        prover,
        Verifier(label.prover.verifier(), rng),
        prover.finish(b"c", bytes(16), *_verifier_answer(label, prover)),
        LockPairing(lock, label, PairingAttempts()),
        ControllerPairing(ctrl, setup, "HA"),
        rng,
    ]
    secrets = [
        *_secrets(lock),
        *_secrets(ctrl),
        label.prover.w0,
        label.prover.w1,
        label.prover.verifier().L,
    ]
    digits = setup.manual_code().replace("-", "")
    for obj in objects:
        for text in (repr(obj), str(obj)):
            assert str(setup.passcode) not in text, type(obj).__name__
            assert digits[4:] not in text.replace("-", ""), type(obj).__name__
            for secret in secrets:
                for form in (
                    secret.hex(),
                    secret.hex().upper(),
                    str(secret),
                    secret[:8].hex(),
                ):
                    assert form not in text, type(obj).__name__


def _verifier_answer(label: CodeSecret, prover: Prover) -> tuple[bytes, bytes]:
    verifier = Verifier(label.prover.verifier())
    keys = verifier.respond(b"c", bytes(16), prover.share)
    return verifier.share, keys.confirm_v


def test_suite_detection_falls_back_without_ml_kem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An OpenSSL without ML-KEM leaves suite 1 only."""
    from cryptography.exceptions import UnsupportedAlgorithm  # noqa: PLC0415

    def unsupported(*_: object) -> None:
        raise UnsupportedAlgorithm("no ML-KEM in this build")

    monkeypatch.setattr(
        suites_module.mlkem.MLKEM768PrivateKey, "from_seed_bytes", unsupported
    )
    suites_module.supported_suites.cache_clear()
    try:
        assert suites_module.supported_suites() == (SuiteId.X25519_CHACHA20,)
    finally:
        monkeypatch.undo()
        suites_module.supported_suites.cache_clear()
    assert SuiteId.X25519_CHACHA20 in suites_module.supported_suites()


def test_stored_keys_of_the_wrong_length_are_malformed(suite: SuiteId) -> None:
    """Truncated or padded key material fails as malformed, naming no bytes."""
    from custom_components.secure_lock.protocol.kem import KemPrivateKey, KemPublicKey  # noqa: PLC0415
    from custom_components.secure_lock.protocol.keys import (  # noqa: PLC0415
        IdentityPrivateKey,
        IdentityPublicKey,
    )

    size = suites_module.params(suite)
    for parse, raw in (
        (IdentityPublicKey, bytes(31)),
        (IdentityPrivateKey, bytes(33)),
        (lambda raw: KemPublicKey(suite, raw), bytes(size.kem_public_size + 1)),
        (lambda raw: KemPrivateKey(suite, raw), bytes(size.kem_private_size - 1)),
    ):
        with pytest.raises(ProtocolError) as err:
            parse(raw)
        assert err.value.code is ErrorCode.MALFORMED


def test_equal_keys_hash_equal(suite: SuiteId) -> None:
    """Keys compare and hash by value, so sets and dict keys deduplicate them."""
    from custom_components.secure_lock.protocol.kem import KemPrivateKey  # noqa: PLC0415
    from custom_components.secure_lock.protocol.keys import (  # noqa: PLC0415
        IdentityPrivateKey,
        IdentityPublicKey,
    )

    rng = DeterministicRng(b"hash")
    signer = IdentityPrivateKey.generate(rng)
    copy = IdentityPublicKey(signer.public_key.raw)
    other = IdentityPrivateKey.generate(rng).public_key
    assert {signer.public_key, copy, other} == {copy, other}
    assert repr(copy) == f"IdentityPublicKey(key_id={copy.key_id.hex()})"
    kem = KemPrivateKey.generate(suite, rng)
    twin = KemPrivateKey(suite, kem.private_bytes()).public_key
    assert twin is not kem.public_key
    assert (
        len({kem.public_key, twin, KemPrivateKey.generate(suite, rng).public_key}) == 2
    )


def test_prekey_halves_must_match(suite: SuiteId) -> None:
    """A stored prekey whose private half belongs to another key is refused."""
    from custom_components.secure_lock.protocol.kem import KemPrivateKey  # noqa: PLC0415
    from custom_components.secure_lock.protocol.keys import Prekey  # noqa: PLC0415

    lock = LockIdentity.generate(
        DeterministicRng(b"halves"), now_ms=T0, suites=(suite,)
    )
    prekey = lock.prekeys[0]
    stranger = KemPrivateKey.generate(suite, DeterministicRng(b"stranger"))
    with pytest.raises(ProtocolError) as err:
        Prekey(prekey.signed, stranger)
    assert err.value.code is ErrorCode.INVALID_ARGUMENT
    assert Prekey(prekey.signed, prekey.private_key).signed == prekey.signed


def test_backend_without_the_suite_gives_a_typed_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Keys for a suite this OpenSSL cannot run fail as typed errors, not crashes."""
    from cryptography.exceptions import UnsupportedAlgorithm  # noqa: PLC0415

    from custom_components.secure_lock.protocol import kem as kem_module  # noqa: PLC0415

    suite = SuiteId.X25519_CHACHA20
    key = kem_module.KemPrivateKey.generate(suite, DeterministicRng(b"backend"))

    def unsupported(*_: object, **__: object) -> None:
        raise UnsupportedAlgorithm("not in this build")

    class _NoHpke:
        encrypt = unsupported

    monkeypatch.setattr(kem_module, "hpke_suite", lambda _suite: _NoHpke())
    with pytest.raises(ProtocolError) as err:
        key.public_key.seal(b"hello", b"info")
    assert err.value.code is ErrorCode.UNSUPPORTED_SUITE
    monkeypatch.setattr(
        kem_module.x25519.X25519PrivateKey, "from_private_bytes", unsupported
    )
    with pytest.raises(ProtocolError) as err:
        kem_module.KemPrivateKey(suite, key.private_bytes())
    assert err.value.code is ErrorCode.MALFORMED
