"""Pairing: happy path, MITM, wrong secret, window, lockout, replays, downgrade, certificates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID
import pytest

from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    ControllerPairing,
    ErrorCode,
    LockIdentity,
    LockPairing,
    LockPin,
    PairingAttempts,
    PairingError,
    ProtocolError,
    Role,
    SetupCode,
    SuiteId,
    pairing as pairing_module,
    spake2plus,
    supported_suites,
)
from custom_components.secure_lock.protocol.certs import verify_device_chain
from custom_components.secure_lock.protocol.pairing import echo_is_faithful
from custom_components.secure_lock.protocol.pairing_messages import PairingHello
from custom_components.secure_lock.protocol.rng import DeterministicRng
from tests.conftest import wrong_code

from .conftest import T0

both_suites = pytest.mark.skipif(
    len(supported_suites()) < 2, reason="needs both suites"
)


class World:
    """A lock and a controller about to pair."""

    def __init__(self, suite: SuiteId | None = None, seed: bytes = b"world") -> None:
        """Create both identities and open the lock's pairing window at T0."""
        suites = (suite,) if suite else None
        self.rng = DeterministicRng(seed)
        self.lock = LockIdentity.generate(self.rng, now_ms=T0, suites=suites)
        self.controller = ControllerIdentity.generate(
            self.rng, now_ms=T0, suites=suites
        )
        self.setup = SetupCode.generate(
            LockPin(self.lock.lock_id, self.lock.fingerprint), rng=self.rng
        )
        self.label = self.setup.secret_for(self.lock.lock_id)
        self.attempts = PairingAttempts()
        self.lock_side = LockPairing(
            self.lock,
            self.label,
            self.attempts,
            rng=self.rng,
            clock=lambda: T0,
        )
        self.lock_side.open_window(T0)

    def controller_side(
        self, setup: SetupCode | None = None, **kwargs: object
    ) -> ControllerPairing:
        """Return a controller-side pairing object for ``setup``."""
        return ControllerPairing(
            self.controller,
            setup or self.setup,
            "Home Assistant",
            rng=self.rng,
            clock=lambda: T0,
            **kwargs,  # type: ignore[arg-type]
        )


def _code(func: Callable[..., object], *args: object) -> ErrorCode:
    with pytest.raises(ProtocolError) as info:
        func(*args)
    assert isinstance(info.value, PairingError)
    return info.value.code


def test_pairing_succeeds_and_both_sides_agree(suite: SuiteId) -> None:
    """Both outcomes carry ids, suite and role; the secret never travels."""
    world = World(suite)
    ctrl = world.controller_side()
    hello = ctrl.start()
    challenge = world.lock_side.handle_hello(hello, T0)
    proof = ctrl.handle_challenge(challenge, T0)
    result, lock_outcome = world.lock_side.handle_proof(proof, Role.ADMIN, T0 + 5)
    outcome = ctrl.handle_result(result, T0)
    assert outcome.role is Role.ADMIN
    assert (
        outcome.controller_id
        == world.controller.key_id
        == lock_outcome.record.controller_id
    )
    assert outcome.lock.suite is suite is lock_outcome.record.suite
    assert outcome.lock.lock_id == world.lock.lock_id
    assert outcome.lock.clock_offset_ms == 5  # the lock's signed time
    assert lock_outcome.record.name == "Home Assistant"
    label = world.label
    for message in (hello, challenge, proof, result):
        for secret in (
            world.setup.passcode.to_bytes(4, "little"),
            world.setup.manual_code().replace("-", "").encode(),
            label.prover.w0,
            label.prover.w1,
        ):
            assert secret not in message
    # One pairing per window: the window closes on success.
    assert not world.lock_side.is_open(T0)


@both_suites
def test_suite_two_is_chosen_when_both_support_it() -> None:
    """No configuration needed: the strongest common suite wins."""
    world = World()
    ctrl = world.controller_side()
    challenge = world.lock_side.handle_hello(ctrl.start(), T0)
    proof = ctrl.handle_challenge(challenge, T0)
    result, _ = world.lock_side.handle_proof(proof, Role.ADMIN, T0)
    assert ctrl.handle_result(result, T0).lock.suite is SuiteId.MLKEM768_X25519_CHACHA20


def test_wrong_fingerprint_stops_a_look_alike_lock(suite: SuiteId) -> None:
    """A device with the lock's id and even its code, but its own key, fails the QR's pin."""
    world = World(suite)
    impostor = World(suite, seed=b"impostor")
    fake_label = world.label
    fake_lock = LockIdentity(
        world.lock.lock_id,
        impostor.lock.signing_key,
        list(impostor.lock.prekeys),
        impostor.lock.policy,
    )
    fake_side = LockPairing(fake_lock, fake_label, PairingAttempts(), rng=impostor.rng)
    fake_side.open_window(T0)
    ctrl = world.controller_side()
    challenge = fake_side.handle_hello(ctrl.start(), T0)
    assert _code(ctrl.handle_challenge, challenge, T0) is ErrorCode.IDENTITY_MISMATCH


def test_wrong_secret_fails_and_counts(suite: SuiteId) -> None:
    """A controller with a wrong secret is refused; five failures lock pairing out."""
    world = World(suite)
    wrong = wrong_code(world.setup)
    for attempt in range(5):
        ctrl = world.controller_side(wrong)
        challenge = world.lock_side.handle_hello(ctrl.start(), T0)
        proof = ctrl.handle_challenge(challenge, T0)
        assert (
            _code(world.lock_side.handle_proof, proof, Role.ADMIN, T0)
            is ErrorCode.BAD_MAC
        )
        assert world.attempts.failures == attempt + 1
    assert world.attempts.is_locked_out(5)
    stored = PairingAttempts.from_bytes(world.attempts.to_bytes())
    assert stored.is_locked_out(5)
    ctrl = world.controller_side()
    assert (
        _code(world.lock_side.handle_hello, ctrl.start(), T0)
        is ErrorCode.PAIRING_LOCKED_OUT
    )
    # The counter survives a reboot.
    rebooted = LockPairing(world.lock, world.label, stored)
    rebooted.open_window(T0)
    assert (
        _code(rebooted.handle_hello, ctrl.start(), T0) is ErrorCode.PAIRING_LOCKED_OUT
    )


def test_lock_without_the_secret_cannot_complete_pairing(
    suite: SuiteId, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mutual proof: a lock that skips its code checks still cannot forge ``confirmP``.

    The impostor holds the lock's own keys (so every signature verifies) but
    another code; it accepts the controller's proof without checking it.
    """
    world = World(suite)
    impostor = LockPairing(
        world.lock,
        wrong_code(world.setup).secret_for(world.lock.lock_id),
        PairingAttempts(),
        rng=world.rng,
    )
    impostor.open_window(T0)
    ctrl = world.controller_side()
    proof = ctrl.handle_challenge(impostor.handle_hello(ctrl.start(), T0), T0)
    with monkeypatch.context() as patch:
        patch.setattr(
            spake2plus, "std_hmac", SimpleNamespace(compare_digest=lambda *_: True)
        )
        patch.setattr(pairing_module, "_check_mac", lambda *_: None)
        patch.setattr(pairing_module, "open_name", lambda *_: "unknown")
        result, _ = impostor.handle_proof(proof, Role.ADMIN, T0)
    assert _code(ctrl.handle_result, result, T0) is ErrorCode.BAD_MAC


def test_closed_window_refuses(suite: SuiteId) -> None:
    """No pairing before the button press or after the window ends."""
    world = World(suite)
    world.lock_side.close_window()
    ctrl = world.controller_side()
    assert (
        _code(world.lock_side.handle_hello, ctrl.start(), T0)
        is ErrorCode.PAIRING_CLOSED
    )
    world.lock_side.open_window(T0, duration_ms=1000)
    challenge = world.lock_side.handle_hello(ctrl.start(), T0)
    proof = ctrl.handle_challenge(challenge, T0)
    assert (
        _code(world.lock_side.handle_proof, proof, Role.ADMIN, T0 + 1000)
        is ErrorCode.PAIRING_CLOSED
    )


def test_one_session_at_a_time(suite: SuiteId) -> None:
    """A second hello during a session is refused until the session times out."""
    world = World(suite)
    world.lock_side.handle_hello(world.controller_side().start(), T0)
    other = world.controller_side()
    assert (
        _code(world.lock_side.handle_hello, other.start(), T0 + 1)
        is ErrorCode.PAIRING_BUSY
    )
    assert world.lock_side.handle_hello(other.start(), T0 + 60_000)


def test_replayed_pairing_messages_fail(suite: SuiteId) -> None:
    """Old challenge, proof or result from an earlier session are recognized."""
    world = World(suite)
    first = world.controller_side()
    old_challenge = world.lock_side.handle_hello(first.start(), T0)
    old_proof = first.handle_challenge(old_challenge, T0)
    old_result, _ = world.lock_side.handle_proof(old_proof, Role.ADMIN, T0)
    world.lock_side.open_window(T0)
    second = world.controller_side()
    challenge = world.lock_side.handle_hello(second.start(), T0)
    assert _code(second.handle_challenge, old_challenge, T0) is ErrorCode.REPLAYED
    assert (
        _code(world.lock_side.handle_proof, old_proof, Role.ADMIN, T0)
        is ErrorCode.REPLAYED
    )
    assert world.attempts.failures == 0
    proof = second.handle_challenge(challenge, T0)
    assert _code(second.handle_result, old_result, T0) is ErrorCode.REPLAYED
    result, _ = world.lock_side.handle_proof(proof, Role.OPERATOR, T0)
    assert second.handle_result(result, T0).role is Role.OPERATOR


def test_out_of_order_messages_fail(suite: SuiteId) -> None:
    """Each side accepts only the message its state expects."""
    world = World(suite)
    ctrl = world.controller_side()
    hello = ctrl.start()
    assert (
        _code(world.lock_side.handle_proof, hello, Role.ADMIN, T0)
        is ErrorCode.UNEXPECTED_MESSAGE
    )
    challenge = world.lock_side.handle_hello(hello, T0)
    assert _code(ctrl.handle_result, challenge, T0) is ErrorCode.UNEXPECTED_MESSAGE
    assert (
        _code(world.lock_side.handle_proof, challenge, Role.ADMIN, T0)
        is ErrorCode.UNEXPECTED_MESSAGE
    )


@both_suites
def test_stripped_suite_list_is_detected() -> None:
    """A relay removing suite 2 from the hello is caught by the controller."""
    world = World()
    ctrl = world.controller_side()
    hello = PairingHello.from_bytes(ctrl.start())
    stripped = PairingHello(
        hello.lock_id,
        hello.discriminator,
        hello.controller_key,
        (SuiteId.X25519_CHACHA20,),
        hello.nonce,
    ).to_bytes()
    challenge = world.lock_side.handle_hello(stripped, T0)
    assert _code(ctrl.handle_challenge, challenge, T0) is ErrorCode.DOWNGRADE


def test_an_offer_newer_than_the_lock_still_pairs_but_a_stripped_one_does_not() -> None:
    """The echo may lack only ids the lock does not know, never one it lists, never reordered."""
    future = (9, 2, 1)  # a controller that knows a suite 9 this lock has never heard of
    assert echo_is_faithful(future, (2, 1), (1, 2))
    assert not echo_is_faithful(future, (1,), (1, 2))  # a common suite stripped
    assert not echo_is_faithful(future, (1, 2), (1, 2))  # reordered
    assert not echo_is_faithful(future, (2, 1, 9), (1, 2))  # not the offer's order
    assert not echo_is_faithful((1,), (2,), (1, 2))  # not offered at all
    # A lock that knows suite 2 but offers only 1 echoes it; one that does
    # not know it leaves it out: both are faithful.
    assert echo_is_faithful((2, 1), (2, 1), (1,))
    assert echo_is_faithful((2, 1), (1,), (1,))


@both_suites
def test_rewritten_suite_choice_is_detected() -> None:
    """Changing the chosen suite byte breaks the lock's signature."""
    world = World()
    ctrl = world.controller_side()
    challenge = bytearray(world.lock_side.handle_hello(ctrl.start(), T0))
    # Layout: type, version, lock id, key, suites(1+2), seen(1+2), chosen.
    chosen_at = 2 + 16 + 32 + 3 + 3
    assert challenge[chosen_at] == SuiteId.MLKEM768_X25519_CHACHA20
    challenge[chosen_at] = SuiteId.X25519_CHACHA20
    with pytest.raises(ProtocolError):
        ctrl.handle_challenge(bytes(challenge), T0)


def _cert(
    subject: str,
    public_key: ed25519.Ed25519PublicKey,
    issuer: str,
    issuer_key: ed25519.Ed25519PrivateKey,
    *,
    ca: bool,
    days: int = 365,
) -> x509.Certificate:
    start = datetime.fromtimestamp(T0 / 1000, tz=UTC) - timedelta(days=1)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(public_key)
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, None)
    )


def _chain(
    lock: LockIdentity, *, leaf_days: int = 365
) -> tuple[x509.Certificate, tuple[bytes, ...]]:
    root_key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    mid_key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
    root = _cert("Maker Root", root_key.public_key(), "Maker Root", root_key, ca=True)
    mid = _cert("Maker Devices", mid_key.public_key(), "Maker Root", root_key, ca=True)
    lock_key = ed25519.Ed25519PublicKey.from_public_bytes(
        lock.signing_key.public_key.raw
    )
    leaf = _cert("lock", lock_key, "Maker Devices", mid_key, ca=False, days=leaf_days)
    der = serialization.Encoding.DER
    return root, (leaf.public_bytes(der), mid.public_bytes(der))


def _run_with_chain(
    world: World, chain: tuple[bytes, ...], ca: x509.Certificate
) -> ErrorCode | None:
    lock_side = LockPairing(
        world.lock,
        world.label,
        PairingAttempts(),
        certificate_chain=chain,
        rng=world.rng,
    )
    lock_side.open_window(T0)
    ctrl = world.controller_side(manufacturer_ca=ca)
    challenge = lock_side.handle_hello(ctrl.start(), T0)
    try:
        ctrl.handle_challenge(challenge, T0)
    except ProtocolError as err:
        return err.code
    return None


def test_device_certificate_chain(suite: SuiteId) -> None:
    """With a manufacturer CA configured the chain must lead to it and name the lock key."""
    world = World(suite)
    root, chain = _chain(world.lock)
    assert _run_with_chain(world, chain, root) is None
    assert _run_with_chain(world, (), root) is ErrorCode.CERTIFICATE_INVALID
    assert _run_with_chain(world, chain[:1], root) is ErrorCode.CERTIFICATE_INVALID
    other_root, _ = _chain(world.lock)
    other_key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(32))
    stranger = _cert("Other", other_key.public_key(), "Other", other_key, ca=True)
    assert _run_with_chain(world, chain, stranger) is ErrorCode.CERTIFICATE_INVALID
    assert other_root == root
    impostor = World(suite, seed=b"impostor")
    _, foreign_chain = _chain(impostor.lock)
    assert _run_with_chain(world, foreign_chain, root) is ErrorCode.IDENTITY_MISMATCH
    _, expired = _chain(world.lock, leaf_days=0)
    assert _run_with_chain(world, expired, root) is ErrorCode.CERTIFICATE_INVALID
    assert (
        _run_with_chain(world, (b"\x30\x03garbage", *chain[1:]), root)
        is ErrorCode.CERTIFICATE_INVALID
    )


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _swap_oid(der: bytes, old: bytes, new: bytes, occurrence: int) -> bytes:
    """Replace the ``occurrence``-th (0-based) ``old`` with ``new`` (same length)."""
    index = -1
    for _ in range(occurrence + 1):
        index = der.index(old, index + 1)
    return der[:index] + new + der[index + len(old) :]


_ED25519_OID = bytes.fromhex("06032b6570")  # 1.3.101.112
_UNKNOWN_KEY_OID = bytes.fromhex("06032b6572")  # 1.3.101.114, unassigned


def _chain_code(
    chain: tuple[bytes, ...], ca: x509.Certificate, lock: LockIdentity
) -> ErrorCode | None:
    try:
        verify_device_chain(chain, ca, lock.signing_key.public_key, T0)
    except ProtocolError as err:
        return err.code
    return None


def test_malformed_certificate_chains_are_typed_errors() -> None:
    """Crafted chains from a lock fail with CERTIFICATE_INVALID, never a library error."""
    world = World()
    root, (leaf, mid) = _chain(world.lock)
    assert _chain_code((leaf, mid), root, world.lock) is None
    # Size limits: one oversized certificate, or too many certificates.
    assert _chain_code((leaf, b"\x30" * 2049), root, world.lock) is (
        ErrorCode.CERTIFICATE_INVALID
    )
    assert _chain_code((leaf, mid, mid, mid, mid), root, world.lock) is (
        ErrorCode.CERTIFICATE_INVALID
    )
    # A leaf key of an algorithm the backend does not know (in the key info,
    # the second Ed25519 OID; the first is the signature algorithm).
    unknown_key = _swap_oid(leaf, _ED25519_OID, _UNKNOWN_KEY_OID, 1)
    assert _chain_code((unknown_key, mid), root, world.lock) is (
        ErrorCode.CERTIFICATE_INVALID
    )
    # An intermediate whose own key is of an unknown type cannot verify the leaf.
    mid_unknown = _swap_oid(mid, _ED25519_OID, _UNKNOWN_KEY_OID, 1)
    assert _chain_code((leaf, mid_unknown), root, world.lock) is (
        ErrorCode.CERTIFICATE_INVALID
    )


def test_intermediate_must_be_a_well_formed_ca() -> None:
    """An intermediate that is not a CA (or hides that) cannot issue the lock's leaf."""
    world = World()
    root_key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    mid_key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
    root = _cert("Maker Root", root_key.public_key(), "Maker Root", root_key, ca=True)
    lock_key = ed25519.Ed25519PublicKey.from_public_bytes(
        world.lock.signing_key.public_key.raw
    )
    leaf = _der(_cert("lock", lock_key, "Maker Devices", mid_key, ca=False))
    not_ca = _der(
        _cert("Maker Devices", mid_key.public_key(), "Maker Root", root_key, ca=False)
    )
    assert _chain_code((leaf, not_ca), root, world.lock) is (
        ErrorCode.CERTIFICATE_INVALID
    )
    start = datetime.fromtimestamp(T0 / 1000, tz=UTC) - timedelta(days=1)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Maker Devices")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Maker Root")]))
        .public_key(mid_key.public_key())
        .serial_number(2)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365))
    )
    no_constraints = _der(builder.sign(root_key, None))
    assert _chain_code((leaf, no_constraints), root, world.lock) is (
        ErrorCode.CERTIFICATE_INVALID
    )
    # Two basic-constraints extensions (the second rewritten from a key
    # identifier): the issuer's extensions cannot be read unambiguously.
    with_ski = builder.add_extension(
        x509.BasicConstraints(ca=True, path_length=None), critical=True
    ).add_extension(x509.SubjectKeyIdentifier(b"mid-key-id"), critical=False)
    duplicate = _swap_oid(
        _der(with_ski.sign(root_key, None)),
        bytes.fromhex("0603551d0e"),  # subjectKeyIdentifier
        bytes.fromhex("0603551d13"),  # basicConstraints
        0,
    )
    assert _chain_code((leaf, duplicate), root, world.lock) is (
        ErrorCode.CERTIFICATE_INVALID
    )


def test_controller_name_never_travels_in_the_clear(suite: SuiteId) -> None:
    """The name reaches the lock, but no pairing message carries it readably."""
    world = World(suite)
    ctrl = world.controller_side()
    hello = ctrl.start()
    challenge = world.lock_side.handle_hello(hello, T0)
    proof = ctrl.handle_challenge(challenge, T0)
    result, outcome = world.lock_side.handle_proof(proof, Role.ADMIN, T0)
    assert outcome.record.name == "Home Assistant"
    for message in (hello, challenge, proof, result):
        assert b"Home Assistant" not in message
        assert b"Home" not in message


def test_sealed_name_needs_the_pairing_secret(suite: SuiteId) -> None:
    """A sealed name opened with another secret fails as a bad MAC (counts as a failure)."""
    from custom_components.secure_lock.protocol.pairing import (  # noqa: PLC0415
        name_key,
        open_name,
        seal_name,
    )

    th1 = bytes(32)
    sealed = seal_name(name_key(b"a" * 16, th1, bytes(16)), th1, "Phone")
    assert open_name(name_key(b"a" * 16, th1, bytes(16)), th1, sealed) == "Phone"
    with pytest.raises(ProtocolError) as err:
        open_name(name_key(b"b" * 16, th1, bytes(16)), th1, sealed)
    assert err.value.code is ErrorCode.BAD_MAC


def test_pairing_inputs_that_cannot_work_are_refused_up_front() -> None:
    """Corrupt attempt records, overlong names, early challenges."""
    with pytest.raises(PairingError) as err:
        PairingAttempts.from_bytes(b"\x00\x01")
    assert err.value.code is ErrorCode.MALFORMED
    assert PairingAttempts.from_bytes(PairingAttempts(3).to_bytes()) == PairingAttempts(
        3
    )
    world = World()
    with pytest.raises(PairingError) as err:
        ControllerPairing(world.controller, world.setup, "n" * 300)
    assert err.value.code is ErrorCode.INVALID_ARGUMENT
    ctrl = world.controller_side()
    with pytest.raises(PairingError) as err:
        ctrl.handle_challenge(b"\x00" * 64, T0)
    assert err.value.code is ErrorCode.UNEXPECTED_MESSAGE


@both_suites
def test_hello_without_a_common_suite_is_refused() -> None:
    """A controller offering only suites the lock lacks gets UNSUPPORTED_SUITE."""
    world = World(SuiteId.X25519_CHACHA20)
    ctrl = ControllerPairing(
        ControllerIdentity.generate(
            world.rng, now_ms=T0, suites=(SuiteId.MLKEM768_X25519_CHACHA20,)
        ),
        world.setup,
        "Home Assistant",
        suites=(SuiteId.MLKEM768_X25519_CHACHA20,),
        rng=world.rng,
        clock=lambda: T0,
    )
    with pytest.raises(PairingError) as err:
        world.lock_side.handle_hello(ctrl.start(), T0)
    assert err.value.code is ErrorCode.UNSUPPORTED_SUITE


@pytest.mark.parametrize("offered", [(), (SuiteId.X25519_CHACHA20,) * 2])
def test_hello_with_an_empty_or_repeated_suite_list_is_malformed(
    offered: tuple[SuiteId, ...],
) -> None:
    """Such a list has no canonical meaning; the lock refuses it and stays open."""
    world = World()
    honest = PairingHello.from_bytes(world.controller_side().start())
    forged = PairingHello(
        honest.lock_id,
        honest.discriminator,
        honest.controller_key,
        offered,
        honest.nonce,
    ).to_bytes()
    with pytest.raises(ProtocolError) as err:
        world.lock_side.handle_hello(forged, T0)
    assert err.value.code is ErrorCode.MALFORMED
    assert world.lock_side.handle_hello(world.controller_side().start(), T0)


def test_refusals_of_hellos_are_signed_at_most_once_a_second(suite: SuiteId) -> None:
    """Unauthenticated hellos cost one signature a second; refused proofs are always told."""
    world = World(suite)
    nonce = bytes(32)
    assert world.lock_side.failure_notice(nonce, ErrorCode.PAIRING_BUSY, T0)
    assert (
        world.lock_side.failure_notice(nonce, ErrorCode.PAIRING_BUSY, T0 + 999) is None
    )
    assert world.lock_side.failure_notice(
        nonce, ErrorCode.BAD_MAC, T0 + 999, limited=False
    )
    assert world.lock_side.failure_notice(nonce, ErrorCode.PAIRING_BUSY, T0 + 1000)
