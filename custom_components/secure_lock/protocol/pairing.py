"""Pairing state machines: a signed challenge around SPAKE2+ (RFC 9383).

The lock is the SPAKE2+ prover: it keeps ``w0, w1`` of each code it
accepts (see setup_code.py), never the code.  The controller, which was
given the code, is the verifier.  Transcript (hashes SHA-256, labels
domain-separate every use):

* hello names the code's discriminator; the lock answers with a challenge
  carrying ``shareP``, signed: ``Sign_L("…/challenge" || hello || challenge.body)``
* ``th1 = H("…/th1" || hello || challenge)``; the PAKE runs with
  ``Context = "…/pake" || th1`` and ``idProver = lock_id``, so it is bound to
  both identity keys, both nonces and the suite negotiation
* ``k_c || k_l = HKDF(ikm=K_shared, salt=th1, info="…/keys" || lock_id)``
* proof: ``shareV``, ``confirmV``, prekey, sealed name;
  ``th2 = H("…/th2" || th1 || proof.body)``,
  ``proof.signature = Sign_C(th2)``, ``proof.mac = HMAC(k_c, th2)``
* the lock checks the signature (an outsider's proof costs nothing), then
  ``confirmV`` (a wrong code is a counted attempt), and only then reveals
  ``confirmP`` in the result:
  ``th3 = H("…/th3" || th2 || proof.signature || proof.mac || result.body)``;
  ``result.signature = Sign_L(th3)``, ``result.mac = HMAC(k_l, th3)``
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
import hashlib
import hmac as std_hmac
from typing import Self

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .certs import verify_device_chain
from .channel import decode_signed_failure, encode_signed_failure
from .errors import ErrorCode, PairingError, ProtocolError
from .identity import ControllerIdentity, LockIdentity
from .keys import IdentityPublicKey, PublicKeyBundle
from .pairing_messages import (
    NAME_FIELD_SIZE,
    NONCE_SIZE,
    PairingChallenge,
    PairingHello,
    PairingProof,
    PairingResult,
)
from .registry import ControllerRecord, PairedLock
from .rng import Clock, Rng, system_clock, system_rng
from .roles import Role
from .setup_code import CodeSecret, SetupCode
from .spake2plus import Confirmed, Prover, Verifier, check_prover_confirmation
from .state import check_text
from .suites import SuiteId, choose_suite, supported_suites

_LABEL = b"secure-lock/v1/pairing/"
DEFAULT_WINDOW_MS = 120_000
DEFAULT_SESSION_TIMEOUT_MS = 60_000
DEFAULT_LOCKOUT_THRESHOLD = 5


def _h(label: bytes, *parts: bytes) -> bytes:
    digest = hashlib.sha256(_LABEL + label)
    for part in parts:
        digest.update(part)
    return digest.digest()


def pake_context(th1: bytes) -> bytes:
    """Return the SPAKE2+ ``Context``: the label and the transcript so far."""
    return _LABEL + b"pake" + th1


def _challenge_signed(hello: bytes, challenge_body: bytes) -> bytes:
    return _LABEL + b"challenge" + hello + challenge_body


def transcript_th1(hello: bytes, challenge: bytes) -> bytes:
    """Return the transcript hash after the challenge."""
    return _h(b"th1", hello, challenge)


def transcript_th2(th1: bytes, proof_body: bytes) -> bytes:
    """Return the transcript hash the controller signs and MACs."""
    return _h(b"th2", th1, proof_body)


def transcript_th3(
    th2: bytes, proof_signature: bytes, proof_mac: bytes, result_body: bytes
) -> bytes:
    """Return the transcript hash the lock signs and MACs."""
    return _h(b"th3", th2, proof_signature, proof_mac, result_body)


def pairing_keys(secret: bytes, th1: bytes, lock_id: bytes) -> tuple[bytes, bytes]:
    """Derive the controller and lock MAC keys from the PAKE's ``K_shared``."""
    okm = HKDF(hashes.SHA256(), 64, salt=th1, info=_LABEL + b"keys" + lock_id).derive(
        secret
    )
    return okm[:32], okm[32:]


def name_key(secret: bytes, th1: bytes, lock_id: bytes) -> bytes:
    """Derive the key that seals the controller's name (separate HKDF label)."""
    return HKDF(hashes.SHA256(), 32, salt=th1, info=_LABEL + b"name" + lock_id).derive(
        secret
    )


def seal_name(key: bytes, th1: bytes, name: str) -> bytes:
    """Pad the name to a fixed size and seal it; the key is used once per session."""
    check_text(name, "name")
    raw = name.encode()
    padded = bytes((len(raw),)) + raw + bytes(NAME_FIELD_SIZE - 1 - len(raw))
    return ChaCha20Poly1305(key).encrypt(bytes(12), padded, th1)


def open_name(key: bytes, th1: bytes, sealed: bytes) -> str:
    """Open a sealed name; a wrong key fails here like a bad MAC."""
    try:
        padded = ChaCha20Poly1305(key).decrypt(bytes(12), sealed, th1)
    except InvalidTag:
        raise PairingError(ErrorCode.BAD_MAC, "sealed name does not open") from None
    length = padded[0]
    if length > NAME_FIELD_SIZE - 1 or any(padded[1 + length :]):
        raise PairingError(ErrorCode.MALFORMED, "bad name padding")
    try:
        name = padded[1 : 1 + length].decode()
        check_text(name, "name")
    except UnicodeDecodeError, ValueError:
        raise PairingError(ErrorCode.MALFORMED, "bad name") from None
    return name


def _mac(key: bytes, message: bytes) -> bytes:
    tag = hmac.HMAC(key, hashes.SHA256())
    tag.update(message)
    return tag.finalize()


def _check_mac(key: bytes, message: bytes, mac: bytes) -> None:
    if not std_hmac.compare_digest(_mac(key, message), mac):
        raise PairingError(ErrorCode.BAD_MAC, "pairing key proof failed")


def _as_pairing_error(err: ProtocolError) -> PairingError:
    return err if isinstance(err, PairingError) else PairingError(err.code, str(err))


@dataclass(slots=True)
class PairingAttempts:
    """Failed-proof counter the lock persists across reboots."""

    failures: int = 0

    def is_locked_out(self, threshold: int = DEFAULT_LOCKOUT_THRESHOLD) -> bool:
        """Return whether ``threshold`` failures have been reached."""
        return self.failures >= threshold

    def to_bytes(self) -> bytes:
        """Serialize for storage."""
        return self.failures.to_bytes(4, "big")

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Load a stored counter."""
        if len(data) != 4:
            raise PairingError(ErrorCode.MALFORMED, "bad attempts record")
        return cls(int.from_bytes(data, "big"))


UNKNOWN_LOCK = bytes(16)
"""The lock id a hello names when the controller has only a typed code."""
LABEL_GRANT = bytes(16)
"""The grant id of the label's setup code (invitations have random ids)."""
NOTICE_INTERVAL_MS = 1_000
"""At most one signed failure notice per second: unauthenticated hellos cost little."""


@dataclass(frozen=True, slots=True)
class PairingOffer:
    """A secret the lock accepts right now, and what redeeming it grants."""

    grant_id: bytes
    secret: CodeSecret = field(repr=False)
    role: Role
    valid_from_ms: int = 0
    valid_until_ms: int = 0


@dataclass(frozen=True, slots=True)
class LockPairingOutcome:
    """What the lock persists: the new controller's registry record."""

    record: ControllerRecord
    grant_id: bytes = LABEL_GRANT
    repeated: bool = False
    """The same proof again (its result was lost): answered, nothing new to store."""


@dataclass(frozen=True, slots=True)
class ControllerPairingOutcome:
    """What the controller persists: its lock record, its id and role."""

    lock: PairedLock
    controller_id: bytes
    role: Role


@dataclass(slots=True)
class _LockSession:
    hello: PairingHello
    hello_bytes: bytes
    challenge_bytes: bytes
    lock_nonce: bytes
    suite: SuiteId
    started_ms: int
    offer: PairingOffer
    prover: Prover


@dataclass(frozen=True, slots=True)
class _Completed:
    """The last successful proof and its answer, to answer a repeat identically."""

    proof: bytes
    result: bytes
    outcome: LockPairingOutcome
    until_ms: int


def echo_is_faithful(
    offer: Sequence[int], echo: Sequence[int], lock_suites: Sequence[int]
) -> bool:
    """Return whether ``echo`` is ``offer`` as a lock may read it.

    A lock skips suite ids it does not know, and only those: the echo keeps
    the offer's order and every offered suite the lock itself lists.  So a
    controller that offers a suite newer than the lock still pairs, and a
    list stripped of a suite both support does not pass.
    """
    remaining = iter(offer)
    in_order = all(suite in remaining for suite in echo)
    return in_order and all(s in echo for s in offer if s in lock_suites)


def failure_signed_bytes(controller_nonce: bytes, code: ErrorCode) -> bytes:
    """Return what the lock signs in a failure notice (bound to one hello)."""
    return _LABEL + b"failure" + controller_nonce + code.value.encode("ascii")


class LockPairing:
    """Lock side.  The caller opens the window (button press) and says what is offered.

    Two kinds of secret open a pairing: the label's (only while the button's
    window is open and the caller allows it, i.e. in factory state) and the
    one-time invitations an admin created (``offers``).  Every failure that
    an outsider could cause without the controller's key changes nothing: a
    proof whose signature does not verify under the hello's key is dropped
    and the session stays; only a proof signed by that key but made with the
    wrong secret counts as a failed attempt and ends the session.
    """

    def __init__(
        self,
        identity: LockIdentity,
        label: CodeSecret,
        attempts: PairingAttempts,
        *,
        certificate_chain: tuple[bytes, ...] = (),
        lockout_threshold: int = DEFAULT_LOCKOUT_THRESHOLD,
        session_timeout_ms: int = DEFAULT_SESSION_TIMEOUT_MS,
        rng: Rng = system_rng,
        clock: Clock = system_clock,
    ) -> None:
        """Prepare; the label's code is accepted only after :meth:`open_window`."""
        self._identity = identity
        self._label = label
        self.attempts = attempts
        self._chain = certificate_chain
        self._threshold = lockout_threshold
        self._timeout = session_timeout_ms
        self._rng = rng
        self._clock = clock
        self._window_until = 0
        self._session: _LockSession | None = None
        self._completed: _Completed | None = None
        self._last_notice_ms: int | None = None

    def __repr__(self) -> str:
        """Never show the secret."""
        return f"LockPairing(lock_id={self._identity.lock_id.hex()})"

    def open_window(
        self, now_ms: int | None = None, duration_ms: int = DEFAULT_WINDOW_MS
    ) -> None:
        """Accept the label for ``duration_ms`` (the simulator calls this on a button press)."""
        now = self._clock() if now_ms is None else now_ms
        self._window_until = now + duration_ms
        self._session = None
        self._completed = None

    def close_window(self) -> None:
        """Stop accepting the label and drop any session."""
        self._window_until = 0
        self._session = None

    def forget(self) -> None:
        """Drop the session and the remembered last result (factory reset)."""
        self.close_window()
        self._completed = None

    def remembers_result(self, now_ms: int | None = None) -> bool:
        """Return whether a repeat of the last accepted proof would still be answered."""
        now = self._clock() if now_ms is None else now_ms
        return self._completed is not None and now < self._completed.until_ms

    def is_open(self, now_ms: int | None = None) -> bool:
        """Return whether the label's window is open now."""
        now = self._clock() if now_ms is None else now_ms
        return now < self._window_until

    def _offers(
        self, now: int, role: Role, label: bool, invitations: Sequence[PairingOffer]
    ) -> list[PairingOffer]:
        offers = list(invitations)
        if label and self.is_open(now):
            offers.insert(0, PairingOffer(LABEL_GRANT, self._label, role))
        return offers

    def failure_notice(
        self,
        controller_nonce: bytes,
        code: ErrorCode,
        now_ms: int | None = None,
        *,
        limited: bool = True,
    ) -> bytes | None:
        """Return a signed failure notice for one hello, or None if rate-limited.

        The controller checks it against the label's fingerprint and its own
        hello nonce, so nobody but the lock can end a pairing with a notice.
        Answers to unauthenticated hellos are ``limited`` (one signature per
        second at most); answers to proofs the controller signed are not.
        """
        now = self._clock() if now_ms is None else now_ms
        if limited:
            if (
                self._last_notice_ms is not None
                and 0 <= now - self._last_notice_ms < NOTICE_INTERVAL_MS
            ):
                return None
            self._last_notice_ms = now
        signature = self._identity.signing_key.sign(
            failure_signed_bytes(controller_nonce, code)
        )
        return encode_signed_failure(
            controller_nonce, self._identity.signing_key.public_key.raw, code, signature
        )

    def handle_hello(
        self,
        data: bytes,
        now_ms: int | None = None,
        *,
        role: Role = Role.ADMIN,
        label: bool = True,
        invitations: Sequence[PairingOffer] = (),
    ) -> bytes:
        """Answer a hello with a signed challenge (one session at a time).

        The same hello again (its challenge was lost) gets the same challenge.
        """
        now = self._clock() if now_ms is None else now_ms
        session = self._live_session(now)
        if session is not None and std_hmac.compare_digest(session.hello_bytes, data):
            return session.challenge_bytes
        if self.attempts.is_locked_out(self._threshold):
            raise PairingError(ErrorCode.PAIRING_LOCKED_OUT, "too many failed proofs")
        if not self._offers(now, role, label, invitations):
            raise PairingError(ErrorCode.PAIRING_CLOSED, "pairing window is closed")
        if session is not None:
            raise PairingError(ErrorCode.PAIRING_BUSY, "another pairing is in progress")
        try:
            hello = PairingHello.from_bytes(data)
        except ProtocolError as err:
            raise _as_pairing_error(err) from None
        if hello.lock_id not in (self._identity.lock_id, UNKNOWN_LOCK):
            raise PairingError(ErrorCode.WRONG_RECIPIENT, "hello is for another lock")
        offer = next(
            (
                o
                for o in self._offers(now, role, label, invitations)
                if o.secret.discriminator == hello.discriminator
            ),
            None,
        )
        if offer is None:
            raise PairingError(
                ErrorCode.PAIRING_CLOSED, "no open code has this discriminator"
            )
        lock_suites = self._identity.suites
        suite = choose_suite(hello.offered_suites, lock_suites)
        if suite is None:
            raise PairingError(ErrorCode.UNSUPPORTED_SUITE, "no common suite")
        lock_nonce = self._rng(NONCE_SIZE)
        prover = Prover(offer.secret.prover, self._rng)
        unsigned = PairingChallenge(
            lock_id=self._identity.lock_id,
            lock_key=self._identity.signing_key.public_key,
            lock_suites=lock_suites,
            seen_controller_suites=hello.offered_suites,
            chosen_suite=suite,
            lock_prekey=self._identity.current_prekey(suite).signed,
            certificate_chain=self._chain,
            controller_nonce=hello.nonce,
            lock_nonce=lock_nonce,
            pake_share=prover.share,
            signature=b"",
        )
        hello_bytes = bytes(data)
        signature = self._identity.signing_key.sign(
            _challenge_signed(hello_bytes, unsigned.body())
        )
        challenge = unsigned.body() + signature
        self._session = _LockSession(
            hello=hello,
            hello_bytes=hello_bytes,
            challenge_bytes=challenge,
            lock_nonce=lock_nonce,
            suite=suite,
            started_ms=now,
            offer=offer,
            prover=prover,
        )
        # A new session: the previous pairing's result is no longer repeated.
        self._completed = None
        return challenge

    def _live_session(self, now: int) -> _LockSession | None:
        session = self._session
        if session is not None and now - session.started_ms >= self._timeout:
            self._session = session = None
        return session

    def session_controller_id(self) -> bytes | None:
        """Return the key id the session in progress was started with."""
        return (
            None if self._session is None else self._session.hello.controller_key.key_id
        )

    def session_nonce(self) -> bytes | None:
        """Return the controller nonce of the session in progress (for notices)."""
        return None if self._session is None else self._session.hello.nonce

    def handle_proof(
        self,
        data: bytes,
        role: Role = Role.ADMIN,
        now_ms: int | None = None,
        *,
        label: bool = True,
        invitations: Sequence[PairingOffer] = (),
    ) -> tuple[bytes, LockPairingOutcome]:
        """Check the controller's proof; on success return the result and the record.

        A repeat of the last accepted proof gets the same result again (marked
        ``repeated``).  A proof that is not signed by the hello's key raises
        ``BAD_SIGNATURE`` with ``counted`` false and leaves the session as it
        was; a proof signed by that key with the wrong secret counts as a
        failed attempt and ends the session.
        """
        now = self._clock() if now_ms is None else now_ms
        completed = self._completed
        if (
            completed is not None
            and now < completed.until_ms
            and std_hmac.compare_digest(completed.proof, data)
        ):
            return completed.result, replace(completed.outcome, repeated=True)
        if self.attempts.is_locked_out(self._threshold):
            raise PairingError(ErrorCode.PAIRING_LOCKED_OUT, "too many failed proofs")
        session = self._live_session(now)
        if session is None:
            raise PairingError(ErrorCode.UNEXPECTED_MESSAGE, "no pairing session")
        offers = self._offers(now, role, label, invitations)
        if not offers:
            # The window closed (or the invitation went) while the session ran.
            self._session = None
            raise PairingError(ErrorCode.PAIRING_CLOSED, "pairing window is closed")
        try:
            proof = PairingProof.from_bytes(data)
        except ProtocolError as err:
            raise _as_pairing_error(err) from None
        if not std_hmac.compare_digest(proof.lock_nonce, session.lock_nonce):
            # Not a guess at the secret, so it does not count against the caller.
            raise PairingError(ErrorCode.REPLAYED, "proof belongs to another session")
        th1 = transcript_th1(session.hello_bytes, session.challenge_bytes)
        th2 = transcript_th2(th1, proof.body())
        try:
            session.hello.controller_key.verify(proof.signature, th2)
        except ProtocolError:
            # Anyone on the path can send this; it must not cost the real
            # controller its session or an attempt.
            raise PairingError(
                ErrorCode.BAD_SIGNATURE, "proof not signed by the hello's key"
            ) from None
        # The code stays the one the hello named; what it grants is read now.
        offer = next((o for o in offers if o.grant_id == session.offer.grant_id), None)
        if offer is None:
            self._session = None
            raise PairingError(ErrorCode.PAIRING_CLOSED, "this code was withdrawn")
        try:
            keys = session.prover.finish(
                pake_context(th1),
                self._identity.lock_id,
                proof.pake_share,
                proof.pake_confirmation,
            )
            k_c, k_l = pairing_keys(keys.shared_key, th1, self._identity.lock_id)
            _check_mac(k_c, th2, proof.mac)
        except PairingError:
            # A proof the hello's key signed, with the wrong code: one guess.
            self.attempts.failures += 1
            self._session = None
            raise PairingError(ErrorCode.BAD_MAC, "wrong setup code") from None
        try:
            name = open_name(
                name_key(keys.shared_key, th1, self._identity.lock_id),
                th1,
                proof.sealed_name,
            )
            proof.controller_prekey.verify(session.hello.controller_key)
            if proof.controller_prekey.suite is not session.suite:
                raise PairingError(
                    ErrorCode.DOWNGRADE, "controller prekey for another suite"
                )
        except ProtocolError as err:
            self._session = None
            raise _as_pairing_error(err) from None
        controller_id = session.hello.controller_key.key_id
        unsigned = PairingResult(
            controller_nonce=session.hello.nonce,
            pake_confirmation=keys.confirm_p,
            controller_id=controller_id,
            role=offer.role,
            lock_time_ms=now,
            signature=b"",
            mac=b"",
        )
        th3 = transcript_th3(th2, proof.signature, proof.mac, unsigned.body())
        result = unsigned.body() + self._identity.signing_key.sign(th3) + _mac(k_l, th3)
        record = ControllerRecord(
            controller_id=controller_id,
            name=name,
            bundle=PublicKeyBundle(
                session.hello.controller_key, (proof.controller_prekey,)
            ),
            role=offer.role,
            suite=session.suite,
            valid_from_ms=offer.valid_from_ms,
            valid_until_ms=offer.valid_until_ms,
        )
        outcome = LockPairingOutcome(record, offer.grant_id)
        self.attempts.failures = 0
        self._completed = _Completed(
            proof=bytes(data),
            result=result,
            outcome=outcome,
            until_ms=now + self._timeout,
        )
        self._session = None
        if offer.grant_id == LABEL_GRANT:
            self.close_window()
        return result, outcome


@dataclass(slots=True)
class _ControllerState:
    hello_bytes: bytes
    nonce: bytes
    th1: bytes = b""
    th2: bytes = b""
    proof_tail: bytes = b""
    k_l: bytes = field(default=b"", repr=False)
    keys: Confirmed | None = field(default=None, repr=False)
    challenge: PairingChallenge | None = None


class ControllerPairing:
    """Controller side: start, answer the challenge, read the result.

    ``handle_challenge`` checks the lock's challenge and answers it in one
    step; an event loop calls :meth:`check_challenge`, derives the code's
    secret off the loop (scrypt, about 0.15 s) and then :meth:`answer`.
    """

    def __init__(
        self,
        identity: ControllerIdentity,
        code: SetupCode,
        name: str,
        *,
        manufacturer_ca: x509.Certificate | None = None,
        suites: tuple[SuiteId, ...] | None = None,
        rng: Rng = system_rng,
        clock: Clock = system_clock,
    ) -> None:
        """Prepare to pair with the lock the code is for."""
        try:
            check_text(name, "name")
        except ValueError as err:
            raise PairingError(ErrorCode.INVALID_ARGUMENT, str(err)) from None
        self._identity = identity
        self._code = code
        self._name = name
        self._ca = manufacturer_ca
        offered = suites if suites is not None else supported_suites()
        self._suites = tuple(s for s in offered if s in identity.suites)
        self._rng = rng
        self._clock = clock
        self._state: _ControllerState | None = None

    def __repr__(self) -> str:
        """Never show the code."""
        return f"ControllerPairing(discriminator={self._code.discriminator})"

    @property
    def lock_key(self) -> IdentityPublicKey | None:
        """Return the key of the lock whose challenge was accepted, once one was."""
        state = self._state
        return (
            None
            if state is None or state.challenge is None
            else state.challenge.lock_key
        )

    def check_failure(self, data: bytes) -> ErrorCode | None:
        """Return the reason of the lock's signed refusal of our hello, else None.

        None for anything else, forged and replayed notices included: only a
        key that could be the code's lock (the QR's fingerprint, or the key
        of the challenge we answered), signing over our hello's nonce, ends
        a pairing.  Before any challenge, a typed code names no key, so the
        notice is believed only as far as it goes: it names a reason, and a
        wrong one costs this attempt, never the lock's secret.
        """
        state = self._state
        try:
            notice = decode_signed_failure(data)
        except ProtocolError:
            return None
        if notice is None or state is None:
            return None
        if not std_hmac.compare_digest(notice.controller_nonce, state.nonce):
            return None
        try:
            lock_key = IdentityPublicKey(notice.lock_key)
            expected = self._expected_key_id()
            if expected is not None and not std_hmac.compare_digest(
                lock_key.key_id, expected
            ):
                return None
            lock_key.verify(
                notice.signature,
                failure_signed_bytes(notice.controller_nonce, notice.code),
            )
        except ProtocolError:
            return None
        return notice.code

    def _expected_key_id(self) -> bytes | None:
        state = self._state
        if state is not None and state.challenge is not None:
            return state.challenge.lock_key.key_id
        return None if self._code.pin is None else self._code.pin.fingerprint

    def start(self) -> bytes:
        """Return the hello message (a fresh nonce each call)."""
        nonce = self._rng(NONCE_SIZE)
        pin = self._code.pin
        hello = PairingHello(
            lock_id=UNKNOWN_LOCK if pin is None else pin.lock_id,
            discriminator=self._code.discriminator,
            controller_key=self._identity.signing_key.public_key,
            offered_suites=self._suites,
            nonce=nonce,
        ).to_bytes()
        self._state = _ControllerState(hello, nonce)
        return hello

    def handle_challenge(self, data: bytes, now_ms: int | None = None) -> bytes:
        """Check the challenge and answer it (the code's scrypt runs here)."""
        challenge = self.check_challenge(data, now_ms)
        return self.answer(self._code.secret_for(challenge.lock_id))

    def check_challenge(
        self, data: bytes, now_ms: int | None = None
    ) -> PairingChallenge:
        """Verify the lock (signature, suites, certificates, the QR's pin); keep the challenge."""
        now = self._clock() if now_ms is None else now_ms
        state = self._state
        if state is None or state.challenge is not None:
            raise PairingError(
                ErrorCode.UNEXPECTED_MESSAGE, "not waiting for a challenge"
            )
        try:
            challenge = PairingChallenge.from_bytes(data)
            self._verify_challenge(challenge, state, now)
        except ProtocolError as err:
            raise _as_pairing_error(err) from None
        state.challenge = challenge
        state.th1 = transcript_th1(state.hello_bytes, bytes(data))
        return challenge

    def answer(self, secret: CodeSecret) -> bytes:
        """Return the proof: SPAKE2+ ``shareV`` and ``confirmV``, prekey, sealed name."""
        state = self._state
        if state is None or state.challenge is None or state.th2:
            raise PairingError(ErrorCode.UNEXPECTED_MESSAGE, "no challenge to answer")
        challenge = state.challenge
        try:
            verifier = Verifier(secret.prover.verifier(), self._rng)
            keys = verifier.respond(
                pake_context(state.th1), challenge.lock_id, challenge.pake_share
            )
        except ProtocolError as err:
            state.challenge = None
            raise _as_pairing_error(err) from None
        state.keys = keys
        k_c, state.k_l = pairing_keys(keys.shared_key, state.th1, challenge.lock_id)
        prekey = self._identity.current_prekey(challenge.chosen_suite).signed
        sealed_name = seal_name(
            name_key(keys.shared_key, state.th1, challenge.lock_id),
            state.th1,
            self._name,
        )
        body = PairingProof(
            lock_nonce=challenge.lock_nonce,
            pake_share=verifier.share,
            pake_confirmation=keys.confirm_v,
            controller_prekey=prekey,
            sealed_name=sealed_name,
            signature=b"",
            mac=b"",
        ).body()
        state.th2 = transcript_th2(state.th1, body)
        signature = self._identity.signing_key.sign(state.th2)
        mac = _mac(k_c, state.th2)
        state.proof_tail = signature + mac
        return body + signature + mac

    def _verify_challenge(
        self, challenge: PairingChallenge, state: _ControllerState, now: int
    ) -> None:
        if not std_hmac.compare_digest(challenge.controller_nonce, state.nonce):
            raise PairingError(ErrorCode.REPLAYED, "challenge answers another hello")
        if not self._code.matches(challenge.lock_id, challenge.lock_key.key_id):
            raise PairingError(
                ErrorCode.IDENTITY_MISMATCH, "lock key does not match the QR code"
            )
        # The lock echoes the suite list it read.  Checked before the
        # signature only to name the cause: a stripped list breaks the signature
        # too (it covers the hello as the lock saw it); either way pairing aborts.
        if not echo_is_faithful(
            self._suites, challenge.seen_controller_suites, challenge.lock_suites
        ):
            raise PairingError(ErrorCode.DOWNGRADE, "our suite list was altered")
        if challenge.chosen_suite != choose_suite(self._suites, challenge.lock_suites):
            raise PairingError(
                ErrorCode.DOWNGRADE, "lock did not choose the best common suite"
            )
        challenge.lock_key.verify(
            challenge.signature, _challenge_signed(state.hello_bytes, challenge.body())
        )
        challenge.lock_prekey.verify(challenge.lock_key)
        if challenge.lock_prekey.suite is not challenge.chosen_suite:
            raise PairingError(ErrorCode.DOWNGRADE, "lock prekey for another suite")
        if self._ca is not None:
            verify_device_chain(
                challenge.certificate_chain, self._ca, challenge.lock_key, now
            )

    def handle_result(
        self, data: bytes, now_ms: int | None = None
    ) -> ControllerPairingOutcome:
        """Verify the lock's PAKE confirmation, signature and MAC; return what to persist."""
        now = self._clock() if now_ms is None else now_ms
        state = self._state
        if (
            state is None
            or state.challenge is None
            or state.keys is None
            or not state.th2
        ):
            raise PairingError(ErrorCode.UNEXPECTED_MESSAGE, "not waiting for a result")
        challenge = state.challenge
        try:
            result = PairingResult.from_bytes(data)
            if not std_hmac.compare_digest(result.controller_nonce, state.nonce):
                raise PairingError(
                    ErrorCode.REPLAYED, "result belongs to another session"
                )
            th3 = transcript_th3(
                state.th2, state.proof_tail[:64], state.proof_tail[64:], result.body()
            )
            challenge.lock_key.verify(result.signature, th3)
            check_prover_confirmation(state.keys, result.pake_confirmation)
            _check_mac(state.k_l, th3, result.mac)
            if result.controller_id != self._identity.key_id:
                raise PairingError(
                    ErrorCode.IDENTITY_MISMATCH, "result names another controller"
                )
        except ProtocolError as err:
            raise _as_pairing_error(err) from None
        self._state = None
        lock = PairedLock(
            lock_id=challenge.lock_id,
            bundle=PublicKeyBundle(challenge.lock_key, (challenge.lock_prekey,)),
            suite=challenge.chosen_suite,
            role=result.role,
            clock_offset_ms=result.lock_time_ms - now,
        )
        return ControllerPairingOutcome(lock, self._identity.key_id, result.role)


__all__ = [
    "LABEL_GRANT",
    "UNKNOWN_LOCK",
    "ControllerPairing",
    "ControllerPairingOutcome",
    "LockPairing",
    "LockPairingOutcome",
    "PairingAttempts",
    "PairingOffer",
]
