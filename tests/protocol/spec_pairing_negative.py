"""Pairing negative vectors, suite negotiation and a certified challenge (section 7).

Part of ``make_spec_vectors``.  Every failing message starts from the
suite-1 pairing run of the positive vectors and changes one thing, re-signed
(and re-MACed) where the check it targets comes after a signature or MAC, so
it passes every earlier check.  Each outcome is what the project's
``LockPairing`` and ``ControllerPairing`` say, and whether the lock answers is
the simulator's rule (``device_sim.join_desk``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    ControllerPairing,
    LockIdentity,
    LockPairing,
    LockPin,
    PairingAttempts,
    Role,
    SetupCode,
    SuiteId,
)
from custom_components.secure_lock.protocol.errors import ErrorCode, ProtocolError
from custom_components.secure_lock.protocol.keys import SignedPrekey
from custom_components.secure_lock.protocol.pairing import (
    _challenge_signed,  # noqa: PLC2701 - the vectors re-sign changed challenges
    _mac,  # noqa: PLC2701
    name_key,
    pairing_keys,
    transcript_th1,
    transcript_th2,
    transcript_th3,
)
from custom_components.secure_lock.protocol.pairing_messages import (
    NAME_FIELD_SIZE,
    PairingChallenge,
    PairingHello,
    PairingProof,
    PairingResult,
)
from custom_components.secure_lock.protocol.rng import DeterministicRng
from device_sim.join_desk import (
    _HELLO_NOTICES,  # noqa: PLC2701 - the lock's answer rule, stated by the vectors
    _PROOF_NOTICES,  # noqa: PLC2701
)

from .spec_pairing_registry import registry_vectors
from .spec_pairing_vectors import LABEL_DISCRIMINATOR, LABEL_PASSCODE, DrawLog

type Json = dict[str, Any]

LOCKOUT = 5
UNKNOWN_SUITE = 9
_HELLO_SUITES_AT = 2 + 16 + 1 + 32
"""Offset of ``offered_suites`` in a hello."""


def _flip(data: bytes, index: int) -> bytes:
    out = bytearray(data)
    out[index] ^= 1
    return bytes(out)


def raw_hello(hello: bytes, suites: bytes) -> bytes:
    """Return ``hello`` with its suite list replaced by the raw bytes ``suites``."""
    after = _HELLO_SUITES_AT + 1 + hello[_HELLO_SUITES_AT]
    return hello[:_HELLO_SUITES_AT] + bytes([len(suites)]) + suites + hello[after:]


@dataclass(slots=True)
class PairingBase:
    """The suite-1 pairing run the negative vectors start from."""

    lock: LockIdentity
    ctrl: ControllerIdentity
    seed: bytes
    time_ms: int
    name: str
    suite: SuiteId = SuiteId.X25519_CHACHA20
    hello: bytes = b""
    challenge: bytes = b""
    proof: bytes = b""
    result: bytes = b""

    def code(self) -> SetupCode:
        """Return the label's code with the QR's pin."""
        return SetupCode(
            LABEL_DISCRIMINATOR,
            LABEL_PASSCODE,
            LockPin(self.lock.lock_id, self.lock.fingerprint),
        )

    def lock_side(
        self, failures: int = 0, chain: tuple[bytes, ...] = ()
    ) -> LockPairing:
        """Return the lock's pairing with the run's random stream, window open."""
        side = LockPairing(
            self.lock,
            self.code().secret_for(self.lock.lock_id),
            PairingAttempts(failures),
            certificate_chain=chain,
            rng=DrawLog(self.seed + b"/lock"),
        )
        side.open_window(self.time_ms)
        return side

    def controller_side(self, ca: x509.Certificate | None = None) -> ControllerPairing:
        """Return the controller's pairing with the run's random stream."""
        return ControllerPairing(
            self.ctrl,
            self.code(),
            self.name,
            manufacturer_ca=ca,
            suites=(self.suite,),
            rng=DrawLog(self.seed + b"/controller"),
        )

    def run(self) -> None:
        """Pair once: the messages every negative vector starts from."""
        lock, ctrl = self.lock_side(), self.controller_side()
        self.hello = ctrl.start()
        self.challenge = lock.handle_hello(self.hello, self.time_ms)
        self.proof = ctrl.handle_challenge(self.challenge, self.time_ms)
        self.result, _ = lock.handle_proof(self.proof, Role.ADMIN, self.time_ms)
        ctrl.handle_result(self.result, self.time_ms)

    def th1(self) -> bytes:
        """Return the run's ``th1``."""
        return transcript_th1(self.hello, self.challenge)

    def keys(self) -> tuple[bytes, bytes, bytes]:
        """Return ``k_c``, ``k_l`` and ``k_name`` of the run (from the controller's state)."""
        ctrl = self.controller_side()
        ctrl.start()
        ctrl.handle_challenge(self.challenge, self.time_ms)
        state = ctrl._state  # noqa: SLF001 - a generator-only peek at K_shared
        assert state is not None and state.keys is not None
        shared = state.keys.shared_key
        k_c, k_l = pairing_keys(shared, self.th1(), self.lock.lock_id)
        return k_c, k_l, name_key(shared, self.th1(), self.lock.lock_id)


class PairingNegatives:
    """Collects the failing messages, each checked with the project's code first."""

    def __init__(self, base: PairingBase) -> None:
        """Start from a finished run."""
        self.base = base
        self.vectors: list[Json] = []

    # The lock receiving a hello ------------------------------------------

    def hello(
        self,
        check: str,
        name: str,
        message: bytes,
        *,
        window_open: bool = True,
        failures: int = 0,
        live_session: bool = False,
    ) -> None:
        """Record a hello the lock refuses, with its code and whether it answers."""
        base = self.base
        lock = base.lock_side(failures)
        if not window_open:
            lock.close_window()
        if live_session:
            lock.handle_hello(base.hello, base.time_ms)
        try:
            lock.handle_hello(message, base.time_ms)
        except ProtocolError as err:
            code = err.code
        else:
            raise AssertionError(f"{name}: the lock accepted it")
        self.vectors.append(
            {
                "check": check,
                "name": name,
                "receiver": "lock",
                "message": "hello",
                "state": {
                    "window_open": window_open,
                    "failures": failures,
                    "live_session_hello": base.hello.hex() if live_session else None,
                    "registered": [],
                    "pending_joins": [],
                    "invitations": [],
                },
                "bytes": message.hex(),
                "error": code.value,
                "answer": "signed_notice" if code in _HELLO_NOTICES else "none",
            }
        )

    # The lock receiving a proof ------------------------------------------

    def proof(
        self,
        check: str,
        name: str,
        message: bytes,
        *,
        session: bool = True,
        code_open: bool = True,
        failures: int = 0,
    ) -> None:
        """Record a proof the lock refuses: code, counted, session kept, answer."""
        base = self.base
        lock = base.lock_side()
        if session:
            lock.handle_hello(base.hello, base.time_ms)
        lock.attempts.failures = failures
        try:
            lock.handle_proof(message, Role.ADMIN, base.time_ms, label=code_open)
        except ProtocolError as err:
            code = err.code
        else:
            raise AssertionError(f"{name}: the lock accepted it")
        kept = lock.session_nonce() is not None
        self.vectors.append(
            {
                "check": check,
                "name": name,
                "receiver": "lock",
                "message": "proof",
                "state": {
                    "session": session,
                    "code_open": code_open,
                    "failures": failures,
                },
                "bytes": message.hex(),
                "error": code.value,
                "counted": lock.attempts.failures > failures,
                "session_after": "kept" if kept else "ended",
                "answer": "signed_notice"
                if session and not kept and code in _PROOF_NOTICES
                else "none",
            }
        )

    # The controller receiving a challenge or a result -------------------

    def challenge(
        self,
        check: str,
        name: str,
        message: bytes,
        *,
        ca: x509.Certificate | None = None,
    ) -> None:
        """Record a challenge the controller refuses (the QR's pin is known)."""
        ctrl = self.base.controller_side(ca)
        ctrl.start()
        try:
            ctrl.handle_challenge(message, self.base.time_ms)
        except ProtocolError as err:
            code = err.code
        else:
            raise AssertionError(f"{name}: the controller accepted it")
        self._controller(
            check, name, "challenge", message, code, with_ca=ca is not None
        )

    def result(self, check: str, name: str, message: bytes) -> None:
        """Record a result the controller refuses after the run's proof."""
        ctrl = self.base.controller_side()
        ctrl.start()
        ctrl.handle_challenge(self.base.challenge, self.base.time_ms)
        try:
            ctrl.handle_result(message, self.base.time_ms)
        except ProtocolError as err:
            code = err.code
        else:
            raise AssertionError(f"{name}: the controller accepted it")
        self._controller(check, name, "result", message, code, with_ca=False)

    def _controller(
        self,
        check: str,
        name: str,
        message_name: str,
        message: bytes,
        code: ErrorCode,
        *,
        with_ca: bool,
    ) -> None:
        self.vectors.append(
            {
                "check": check,
                "name": name,
                "receiver": "controller",
                "message": message_name,
                "state": {"manufacturer_ca": with_ca},
                "bytes": message.hex(),
                "error": code.value,
            }
        )


def _resign_challenge(base: PairingBase, challenge: PairingChallenge) -> bytes:
    unsigned = replace(challenge, signature=b"")
    signature = base.lock.signing_key.sign(
        _challenge_signed(base.hello, unsigned.body())
    )
    return unsigned.body() + signature


def _resign_proof(base: PairingBase, proof: PairingProof, k_c: bytes) -> bytes:
    th2 = transcript_th2(base.th1(), proof.body())
    return proof.body() + base.ctrl.signing_key.sign(th2) + _mac(k_c, th2)


def _resign_result(
    base: PairingBase, result: PairingResult, k_l: bytes, *, bad_mac: bool = False
) -> bytes:
    proof = PairingProof.from_bytes(base.proof)
    th2 = transcript_th2(base.th1(), proof.body())
    th3 = transcript_th3(th2, proof.signature, proof.mac, result.body())
    mac = _mac(k_l, th3)
    return (
        result.body()
        + base.lock.signing_key.sign(th3)
        + (_flip(mac, 0) if bad_mac else mac)
    )


def _hello_vectors(n: PairingNegatives) -> None:
    base = n.base
    hello = base.hello
    parsed = PairingHello.from_bytes(hello)
    another = replace(parsed, nonce=bytes(range(32))).to_bytes()
    n.hello("1 an open code", "window_closed", hello, window_open=False)
    n.hello("2 encoding", "another_message_type", bytes([3]) + hello[1:])
    n.hello("2 encoding", "pairing_version_3", hello[:1] + bytes([3]) + hello[2:])
    n.hello("2 encoding", "trailing_byte", hello + bytes(1))
    n.hello("2 encoding", "truncated", hello[:-1])
    n.hello("2 suites", "empty_suite_list", raw_hello(hello, b""))
    n.hello("2 suites", "duplicate_suite", raw_hello(hello, b"\x01\x01"))
    n.hello("2 suites", "nine_suites", raw_hello(hello, bytes(range(1, 10))))
    n.hello(
        "3 lock id",
        "hello_for_another_lock",
        replace(parsed, lock_id=bytes(range(16))).to_bytes(),
    )
    n.vectors.extend(registry_vectors(base))
    n.hello("6 lockout", "five_failed_guesses", hello, failures=LOCKOUT)
    n.hello(
        "7 one session", "another_hello_during_a_session", another, live_session=True
    )
    n.hello(
        "8 discriminator",
        "no_open_code_with_this_discriminator",
        replace(parsed, discriminator=LABEL_DISCRIMINATOR + 1).to_bytes(),
    )
    n.hello(
        "9 suites",
        "no_common_suite_only_unknown_ids",
        raw_hello(hello, bytes([UNKNOWN_SUITE])),
    )


def _proof_vectors(n: PairingNegatives, k_c: bytes, k_name: bytes) -> None:
    base = n.base
    proof_bytes = base.proof
    proof = PairingProof.from_bytes(proof_bytes)
    th1 = base.th1()
    n.proof(
        "1 lockout", "proof_after_five_failed_guesses", proof_bytes, failures=LOCKOUT
    )
    n.proof("2 session", "proof_without_a_session", proof_bytes, session=False)
    n.proof("3 code still open", "code_withdrawn", proof_bytes, code_open=False)
    n.proof("4 encoding", "proof_truncated", proof_bytes[:-1])
    n.proof(
        "4 encoding", "proof_version_3", proof_bytes[:1] + b"\x03" + proof_bytes[2:]
    )
    n.proof(
        "5 nonce_l",
        "proof_for_another_challenge",
        _resign_proof(base, replace(proof, lock_nonce=bytes(32)), k_c),
    )
    n.proof(
        "6 signature",
        "proof_signature_changed",
        _flip(proof_bytes, len(proof_bytes) - 33),
    )
    n.proof(
        "7 shareV",
        "share_v_not_a_point",
        _resign_proof(base, replace(proof, pake_share=bytes(32)), k_c),
    )
    n.proof(
        "7 confirmV",
        "confirm_v_changed",
        _resign_proof(
            base,
            replace(proof, pake_confirmation=_flip(proof.pake_confirmation, 0)),
            k_c,
        ),
    )
    n.proof("7 mac", "proof_mac_changed", _flip(proof_bytes, len(proof_bytes) - 1))
    bad_padding = bytes([1]) + b"A" + bytes(NAME_FIELD_SIZE - 3) + b"\x01"
    n.proof(
        "8 sealed name",
        "name_padding_not_zero",
        _resign_proof(
            base,
            replace(
                proof,
                sealed_name=ChaCha20Poly1305(k_name).encrypt(
                    bytes(12), bad_padding, th1
                ),
            ),
            k_c,
        ),
    )
    n.proof(
        "8 sealed name",
        "name_sealed_under_another_key",
        _resign_proof(
            base,
            replace(proof, sealed_name=_flip(proof.sealed_name, 0)),
            k_c,
        ),
    )
    other_owner = SignedPrekey.create(
        base.lock.signing_key,
        proof.controller_prekey.public_key,
        proof.controller_prekey.valid_from,
        proof.controller_prekey.valid_until,
    )
    n.proof(
        "9 prekey",
        "controller_prekey_signed_by_another_key",
        _resign_proof(base, replace(proof, controller_prekey=other_owner), k_c),
    )
    suite_two = base.lock.current_prekey(SuiteId.MLKEM768_X25519_CHACHA20).signed
    other_suite = SignedPrekey.create(
        base.ctrl.signing_key,
        suite_two.public_key,
        proof.controller_prekey.valid_from,
        proof.controller_prekey.valid_until,
    )
    n.proof(
        "9 prekey",
        "controller_prekey_of_another_suite",
        _resign_proof(base, replace(proof, controller_prekey=other_suite), k_c),
    )


def _challenge_vectors(
    n: PairingNegatives, ca: x509.Certificate, other_lock: LockIdentity
) -> None:
    base = n.base
    raw = base.challenge
    challenge = PairingChallenge.from_bytes(raw)
    two = SuiteId.MLKEM768_X25519_CHACHA20
    n.challenge("0 encoding", "challenge_truncated", raw[:-1])
    n.challenge("0 encoding", "a_hello_instead", base.hello)
    n.challenge(
        "1 nonce_c",
        "challenge_to_another_hello",
        _resign_challenge(base, replace(challenge, controller_nonce=bytes(32))),
    )
    impostor = replace(
        challenge,
        lock_key=other_lock.signing_key.public_key,
        lock_prekey=other_lock.current_prekey(base.suite).signed,
        signature=b"",
    )
    n.challenge(
        "2 QR identity",
        "another_lock_key",
        impostor.body()
        + other_lock.signing_key.sign(_challenge_signed(base.hello, impostor.body())),
    )
    n.challenge(
        "3 suites",
        "seen_suites_altered",
        _resign_challenge(base, replace(challenge, seen_controller_suites=(two,))),
    )
    n.challenge(
        "3 suites",
        "chosen_suite_not_the_best_common",
        _resign_challenge(
            base,
            replace(
                challenge,
                chosen_suite=two,
                lock_prekey=base.lock.current_prekey(two).signed,
            ),
        ),
    )
    n.challenge("4 signature", "challenge_signature_changed", _flip(raw, len(raw) - 1))
    prekey = challenge.lock_prekey
    n.challenge(
        "4 prekey",
        "lock_prekey_signature_changed",
        _resign_challenge(
            base,
            replace(
                challenge,
                lock_prekey=replace(prekey, signature=_flip(prekey.signature, 0)),
            ),
        ),
    )
    n.challenge(
        "4 prekey",
        "lock_prekey_of_another_suite",
        _resign_challenge(
            base,
            replace(
                challenge,
                lock_prekey=SignedPrekey.create(
                    base.lock.signing_key,
                    base.lock.current_prekey(two).signed.public_key,
                    prekey.valid_from,
                    prekey.valid_until,
                ),
            ),
        ),
    )
    n.challenge("5 certificates", "no_chain_with_a_manufacturer_ca", raw, ca=ca)
    n.challenge(
        "6 shareP",
        "share_p_not_a_point",
        _resign_challenge(base, replace(challenge, pake_share=bytes(32))),
    )


def _result_vectors(n: PairingNegatives, k_l: bytes) -> None:
    base = n.base
    raw = base.result
    result = PairingResult.from_bytes(raw)
    n.result("0 encoding", "result_trailing_byte", raw + bytes(1))
    n.result(
        "1 nonce_c",
        "result_to_another_hello",
        _resign_result(base, replace(result, controller_nonce=bytes(32)), k_l),
    )
    n.result("2 signature", "result_signature_changed", _flip(raw, len(raw) - 33))
    n.result(
        "3 confirmP",
        "confirm_p_changed",
        _resign_result(
            base,
            replace(result, pake_confirmation=_flip(result.pake_confirmation, 0)),
            k_l,
        ),
    )
    n.result(
        "4 mac", "result_mac_changed", _resign_result(base, result, k_l, bad_mac=True)
    )
    n.result(
        "5 controller id",
        "result_names_another_controller",
        _resign_result(base, replace(result, controller_id=bytes(16)), k_l),
    )


def pairing_negative_vectors(
    base: PairingBase, ca: x509.Certificate, other_lock: LockIdentity
) -> list[Json]:
    """Return the pairing negative vectors in the check order of section 7."""
    base.run()
    k_c, k_l, k_name = base.keys()
    n = PairingNegatives(base)
    _hello_vectors(n)
    _proof_vectors(n, k_c, k_name)
    _challenge_vectors(n, ca, other_lock)
    _result_vectors(n, k_l)
    return n.vectors


def suite_negotiation(base: PairingBase) -> list[Json]:
    """Hellos with several suite lists and the challenge the lock answers each with."""
    out = []
    for offered in (bytes([1, 2]), bytes([2, 1]), bytes([UNKNOWN_SUITE, 1])):
        hello = raw_hello(base.hello, offered)
        challenge = PairingChallenge.from_bytes(
            base.lock_side().handle_hello(hello, base.time_ms)
        )
        out.append(
            {
                "offered": list(offered),
                "hello": hello.hex(),
                "challenge": challenge.to_bytes().hex(),
                "seen_controller_suites": [
                    int(s) for s in challenge.seen_controller_suites
                ],
                "chosen_suite": int(challenge.chosen_suite),
            }
        )
    return out


def certified_challenge(
    base: PairingBase, chain: tuple[bytes, ...], ca: x509.Certificate, check_at_ms: int
) -> Json:
    """Return a challenge carrying the certificate chain (the controller with the CA accepts it)."""
    challenge = base.lock_side(chain=chain).handle_hello(base.hello, base.time_ms)
    ctrl = base.controller_side(ca)
    ctrl.start()
    ctrl.check_challenge(challenge, check_at_ms)
    return {
        "hello": base.hello.hex(),
        "challenge": challenge.hex(),
        "chain": "certificates",
        "check_at_ms": check_at_ms,
    }


def other_lock(seed: bytes, time_ms: int) -> LockIdentity:
    """Return a second lock (the look-alike whose key the QR does not name)."""
    return LockIdentity.generate(
        DeterministicRng(seed + b"/another-lock"),
        now_ms=time_ms,
        suites=(SuiteId.X25519_CHACHA20,),
    )
