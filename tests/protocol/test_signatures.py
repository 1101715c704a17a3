"""Ed25519 checks: what a receiver refuses beyond RFC 8032's equation (protocol.md 0).

The forgeries below satisfy the verification equation ``[S]B = R + [k]A``
of RFC 8032 section 5.1.7 and are built with hashing alone: a public key
or an ``R`` of small order lets anyone "sign" without the private key.
The protocol refuses them, and so does the independent verifier.
"""

from __future__ import annotations

from collections.abc import Callable
import hashlib

from cryptography.hazmat.primitives.asymmetric import ed25519
import pytest

from custom_components.secure_lock.protocol import ErrorCode, ProtocolError
from custom_components.secure_lock.protocol.keys import IdentityPublicKey
from tests.conformance.keys import verify_signature as conformance_verify
from tests.conformance.wire import VerificationError

L = 2**252 + 27742317777372353535851937790883648493
"""The order of Ed25519's base point (RFC 8032 section 5.1)."""
IDENTITY_POINT = bytes([1]) + bytes(31)
"""The encoding of the neutral element (x = 0, y = 1): order 1."""
MESSAGE = b"secure-lock: open the door"
SEED = bytes(range(32))


def _secret_scalar(seed: bytes) -> int:
    """RFC 8032 5.1.5: the clamped first half of SHA-512(seed)."""
    half = bytearray(hashlib.sha512(seed).digest()[:32])
    half[0] &= 248
    half[31] &= 127
    half[31] |= 64
    return int.from_bytes(half, "little")


def _public(seed: bytes) -> bytes:
    key = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    return key.public_key().public_bytes_raw()


def _challenge(r: bytes, a: bytes, message: bytes) -> int:
    return int.from_bytes(hashlib.sha512(r + a + message).digest(), "little") % L


def _forgery_under_small_order_key() -> tuple[bytes, bytes]:
    """(public key, signature): A is the neutral element, so [k]A vanishes."""
    r = _secret_scalar(SEED) % L
    signature = _public(SEED) + r.to_bytes(32, "little")  # R = [r]B, S = r
    return IDENTITY_POINT, signature


def _signature_with_small_order_r() -> tuple[bytes, bytes]:
    """(public key, signature): R is the neutral element, S = k * a."""
    public = _public(SEED)
    k = _challenge(IDENTITY_POINT, public, MESSAGE)
    s = k * _secret_scalar(SEED) % L
    return public, IDENTITY_POINT + s.to_bytes(32, "little")


def _signature_with_s_plus_l() -> tuple[bytes, bytes]:
    """(public key, signature): a valid signature whose S got L added."""
    signature = ed25519.Ed25519PrivateKey.from_private_bytes(SEED).sign(MESSAGE)
    s = int.from_bytes(signature[32:], "little") + L
    return _public(SEED), signature[:32] + s.to_bytes(32, "little")


def _project_verify(public: bytes, signature: bytes, message: bytes) -> None:
    IdentityPublicKey(public).verify(signature, message)


def _verifier_verify(public: bytes, signature: bytes, message: bytes) -> None:
    conformance_verify(public, signature, message)


VERIFIERS: dict[str, tuple[Callable[[bytes, bytes, bytes], None], type[Exception]]] = {
    "project": (_project_verify, ProtocolError),
    "independent verifier": (_verifier_verify, VerificationError),
}


@pytest.fixture(params=sorted(VERIFIERS))
def verifier(
    request: pytest.FixtureRequest,
) -> tuple[Callable[[bytes, bytes, bytes], None], type[Exception]]:
    """Each implementation of the rule: the project's and the verifier's."""
    return VERIFIERS[request.param]


def test_an_honest_signature_passes_and_a_changed_one_does_not(
    verifier: tuple[Callable[[bytes, bytes, bytes], None], type[Exception]],
) -> None:
    """The baseline the refusals below are measured against."""
    verify, error = verifier
    signature = ed25519.Ed25519PrivateKey.from_private_bytes(SEED).sign(MESSAGE)
    verify(_public(SEED), signature, MESSAGE)
    with pytest.raises(error):
        verify(_public(SEED), signature, MESSAGE + b"!")
    with pytest.raises(error):
        verify(_public(SEED), bytes([signature[0] ^ 1]) + signature[1:], MESSAGE)


@pytest.mark.parametrize(
    "forge",
    [
        _forgery_under_small_order_key,
        _signature_with_small_order_r,
        _signature_with_s_plus_l,
    ],
    ids=["small-order public key", "small-order R", "S not reduced"],
)
def test_signatures_outside_the_strict_rule_are_refused(
    forge: Callable[[], tuple[bytes, bytes]],
    verifier: tuple[Callable[[bytes, bytes, bytes], None], type[Exception]],
) -> None:
    """Anyone could make the first two; the third is a second form of a real one."""
    verify, error = verifier
    public, signature = forge()
    with pytest.raises(error) as info:
        verify(public, signature, MESSAGE)
    code = getattr(info.value, "code", None)
    assert code in (ErrorCode.BAD_SIGNATURE, "bad_signature")


@pytest.mark.parametrize(
    "forge",
    [_forgery_under_small_order_key, _signature_with_small_order_r],
    ids=["small-order public key", "small-order R"],
)
def test_the_small_order_forgeries_satisfy_the_bare_equation(
    forge: Callable[[], tuple[bytes, bytes]],
) -> None:
    """Why the rule matters: OpenSSL checks only the equation, and takes them.

    The first needs no private key at all and "signs" every message.  If this
    test fails, the forgeries above no longer test anything: rebuild them.
    """
    public, signature = forge()
    messages = (
        (MESSAGE, b"unlock", b"")
        if forge is _forgery_under_small_order_key
        else (MESSAGE,)
    )
    for message in messages:
        ed25519.Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
