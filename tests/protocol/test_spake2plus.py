"""SPAKE2+ (RFC 9383) over edwards25519: the vector, recomputed independently, and refusals."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from nacl import bindings as sodium
import pytest

from custom_components.secure_lock.protocol.errors import ErrorCode, PairingError
from custom_components.secure_lock.protocol.spake2plus import (
    M,
    N,
    Prover,
    ProverSecret,
    Verifier,
    check_prover_confirmation,
    derive_prover_secret,
)

from .make_vectors import VECTORS_JSON

# Written from RFC 9382 section 6 and RFC 9383 sections 3.2-3.4 and
# docs/protocol.md section 7.4, not from the project's code.
RFC_M = "d048032c6ea0b6d697ddc2e86bda85a33adac920f1bf18e1b0c6d166a5cecdaf"
RFC_N = "d3bfb518f44f3430f29d0c92af503865a1ed3281dc69b35dd868ba85f886c4ab"
LOCK_ID = bytes(range(16))


def _le64(data: bytes) -> bytes:
    return len(data).to_bytes(8, "little") + data


def _reduce(data: bytes) -> bytes:
    return bytes(sodium.crypto_core_ed25519_scalar_reduce(data.ljust(64, b"\0")))


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


@pytest.fixture(scope="module")
def vector() -> dict[str, Any]:
    """Return the stored SPAKE2+ vector."""
    data: dict[str, Any] = json.loads(VECTORS_JSON.read_text())["spake2plus"]
    return data


def test_m_and_n_are_the_rfc_points() -> None:
    """The constants are RFC 9382's, valid points of the prime-order subgroup."""
    assert (M.hex(), N.hex()) == (RFC_M, RFC_N)
    assert sodium.crypto_core_ed25519_is_valid_point(M)
    assert sodium.crypto_core_ed25519_is_valid_point(N)


def test_the_vector_recomputes_from_the_specification(vector: dict[str, Any]) -> None:
    """w0/w1 from scrypt, shares, Z, V, TT, keys and confirmations, by hand."""
    id_prover = bytes.fromhex(vector["id_prover"])
    pw = vector["passcode"].to_bytes(4, "little")
    okm = Scrypt(salt=b"secure-lock/v1/pake/w0w1", length=80, n=2**15, r=8, p=1).derive(
        _le64(pw) + _le64(id_prover) + _le64(b"")
    )
    w0, w1 = _reduce(okm[:40]), _reduce(okm[40:])
    assert (w0.hex(), w1.hex()) == (vector["w0"], vector["w1"])
    big_l = sodium.crypto_scalarmult_ed25519_base_noclamp(w1)
    assert big_l.hex() == vector["L"]
    m, n = bytes.fromhex(RFC_M), bytes.fromhex(RFC_N)
    x = _reduce(bytes.fromhex(vector["x_seed"]))
    y = _reduce(bytes.fromhex(vector["y_seed"]))
    share_p = sodium.crypto_core_ed25519_add(
        sodium.crypto_scalarmult_ed25519_base_noclamp(x),
        sodium.crypto_scalarmult_ed25519_noclamp(w0, m),
    )
    share_v = sodium.crypto_core_ed25519_add(
        sodium.crypto_scalarmult_ed25519_base_noclamp(y),
        sodium.crypto_scalarmult_ed25519_noclamp(w0, n),
    )
    assert (share_p.hex(), share_v.hex()) == (vector["share_p"], vector["share_v"])
    eight = (8).to_bytes(32, "little")
    # Prover's view: Z = h*x*(Y - w0*N), V = h*w1*(Y - w0*N).
    t = sodium.crypto_core_ed25519_sub(
        share_v, sodium.crypto_scalarmult_ed25519_noclamp(w0, n)
    )
    z = sodium.crypto_scalarmult_ed25519_noclamp(
        sodium.crypto_core_ed25519_scalar_mul(x, eight), t
    )
    v = sodium.crypto_scalarmult_ed25519_noclamp(
        sodium.crypto_core_ed25519_scalar_mul(w1, eight), t
    )
    # Verifier's view agrees: Z = h*y*(X - w0*M), V = h*y*L.
    hy = sodium.crypto_core_ed25519_scalar_mul(y, eight)
    assert z == sodium.crypto_scalarmult_ed25519_noclamp(
        hy,
        sodium.crypto_core_ed25519_sub(
            share_p, sodium.crypto_scalarmult_ed25519_noclamp(w0, m)
        ),
    )
    assert v == sodium.crypto_scalarmult_ed25519_noclamp(hy, big_l)
    context = bytes.fromhex(vector["context"])
    tt = b"".join(
        _le64(part)
        for part in (context, id_prover, b"", m, n, share_p, share_v, z, v, w0)
    )
    k_main = hashlib.sha256(tt).digest()
    confirmation = HKDF(
        hashes.SHA256(), 64, salt=None, info=b"ConfirmationKeys"
    ).derive(k_main)
    shared = HKDF(hashes.SHA256(), 32, salt=None, info=b"SharedKey").derive(k_main)
    assert _hmac(confirmation[:32], share_v).hex() == vector["confirm_p"]
    assert _hmac(confirmation[32:], share_p).hex() == vector["confirm_v"]
    assert shared.hex() == vector["k_shared"]


def _run(prover_code: int, verifier_code: int) -> tuple[Prover, Verifier, bytes]:
    prover = Prover(derive_prover_secret(prover_code, LOCK_ID))
    verifier = Verifier(derive_prover_secret(verifier_code, LOCK_ID).verifier())
    keys = verifier.respond(b"ctx", LOCK_ID, prover.share)
    return prover, verifier, keys.confirm_v


def test_the_same_code_agrees_and_each_run_gets_fresh_keys() -> None:
    """Both confirmations check, K_shared matches, and a second run differs."""
    secret = derive_prover_secret(12_345_678, LOCK_ID)
    shared = set()
    for _ in range(2):
        prover, verifier = Prover(secret), Verifier(secret.verifier())
        verifier_keys = verifier.respond(b"ctx", LOCK_ID, prover.share)
        prover_keys = prover.finish(
            b"ctx", LOCK_ID, verifier.share, verifier_keys.confirm_v
        )
        check_prover_confirmation(verifier_keys, prover_keys.confirm_p)
        assert prover_keys.shared_key == verifier_keys.shared_key
        shared.add(prover_keys.shared_key)
    assert len(shared) == 2


def test_a_wrong_code_is_refused_by_the_prover_before_it_reveals_anything() -> None:
    """The lock checks confirmV first: a wrong code gets BAD_MAC and no confirmP."""
    prover, verifier, confirm_v = _run(12_345_678, 12_345_679)
    with pytest.raises(PairingError) as err:
        prover.finish(b"ctx", LOCK_ID, verifier.share, confirm_v)
    assert err.value.code is ErrorCode.BAD_MAC


def test_context_and_identity_bind_the_keys() -> None:
    """The same code with another context or prover id does not confirm."""
    for context, prover_id in ((b"other", LOCK_ID), (b"ctx", bytes(16))):
        prover, verifier, _ = _run(5, 5)
        keys = verifier.respond(context, prover_id, prover.share)
        with pytest.raises(PairingError):
            prover.finish(b"ctx", LOCK_ID, verifier.share, keys.confirm_v)


def _small_order_points() -> list[bytes]:
    identity = (1).to_bytes(32, "little")
    minus_one = ((2**255 - 19) - 1).to_bytes(32, "little")  # order 2: (0, -1)
    return [identity, minus_one, bytes(32)]


@pytest.mark.parametrize("share", [*_small_order_points(), b"\xff" * 32, b"\x01" * 31])
def test_shares_that_are_not_group_elements_are_refused(share: bytes) -> None:
    """Identity, small-order, non-canonical and short shares: MALFORMED on both sides."""
    secret = derive_prover_secret(7, LOCK_ID)
    with pytest.raises(PairingError) as err:
        Verifier(secret.verifier()).respond(b"ctx", LOCK_ID, share)
    assert err.value.code is ErrorCode.MALFORMED
    with pytest.raises(PairingError) as err:
        Prover(secret).finish(b"ctx", LOCK_ID, share, bytes(32))
    assert err.value.code is ErrorCode.MALFORMED


def test_a_share_that_cancels_the_blinding_is_refused() -> None:
    """ShareP = w0*M makes X - w0*M the identity: refused, not a key from nothing."""
    secret = derive_prover_secret(7, LOCK_ID)
    share = sodium.crypto_scalarmult_ed25519_noclamp(secret.w0, M)
    with pytest.raises(PairingError) as err:
        Verifier(secret.verifier()).respond(b"ctx", LOCK_ID, share)
    assert err.value.code is ErrorCode.MALFORMED


def test_stored_scalars_must_be_canonical() -> None:
    """w0 || w1 of the wrong length or not reduced are refused."""
    with pytest.raises(PairingError):
        ProverSecret.from_bytes(bytes(63))
    with pytest.raises(PairingError):
        ProverSecret(b"\xff" * 32, bytes(32))
    secret = derive_prover_secret(1, LOCK_ID)
    assert ProverSecret.from_bytes(secret.to_bytes()) == secret
    assert secret.w0.hex() not in repr(secret)
