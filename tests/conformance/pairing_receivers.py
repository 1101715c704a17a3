"""The receivers' checks of section 7, in the order section 7 states them.

Each function raises the ``VerificationError`` of the first check a message
fails, so a negative vector reproduces only if its message passes every
earlier check.  The session they check against is the suite-1 pairing run
of the vectors (its hello, challenge, proof and both scalar seeds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .artifacts import verify_certificate_chain
from .keys import key_id, verify_prekey, verify_signature
from .pairing import (
    BAD_MAC,
    check_mac,
    choose_suite,
    label,
    open_name,
    read_challenge,
    read_hello,
    read_proof,
    read_result,
    session_keys,
    transcript,
)
from .spake2plus import (
    base_mul,
    check_share,
    key_schedule,
    password_scalars,
    prover_z_v,
    reduce,
    verifier_z_v,
)
from .wire import MALFORMED, VerificationError, fail

type Json = dict[str, Any]

LOCKOUT_THRESHOLD = 5
UNKNOWN_LOCK = bytes(16)
HELLO_NOTICES = frozenset(
    {
        "already_paired",
        "invitation_required",
        "pairing_locked_out",
        "pairing_busy",
        "unsupported_suite",
    }
)
"""Refusals of a hello the lock answers with a signed notice (7.1); others get no answer."""
PROOF_NOTICES = frozenset({BAD_MAC, "downgrade", MALFORMED})
"""Refusals of a proof answered with a signed notice, when the proof ended the session."""


@dataclass(frozen=True, slots=True)
class Run:
    """The positive pairing run every negative vector starts from."""

    lock_id: bytes
    lock_identity: bytes
    lock_suites: list[int]
    controller_identity: bytes
    discriminator: int
    passcode: int
    hello: bytes
    challenge: bytes
    proof: bytes
    x_seed: bytes
    y_seed: bytes

    @classmethod
    def from_document(cls, doc: Json, suite: str) -> Run:
        """Read the run of ``suite`` and the parties it names."""
        vector, lock = doc["pairing"][suite], doc["lock"]

        def h(text: str) -> bytes:
            return bytes.fromhex(text)

        return cls(
            lock_id=h(lock["lock_id"]),
            lock_identity=h(lock["identity_public"]),
            lock_suites=sorted({p["suite"] for p in lock["prekeys"]}),
            controller_identity=h(
                doc["suites"][suite]["controller"]["identity_public"]
            ),
            discriminator=vector["setup"]["discriminator"],
            passcode=vector["setup"]["passcode"],
            hello=h(vector["hello"]),
            challenge=h(vector["challenge"]),
            proof=h(vector["proof"]),
            x_seed=h(vector["x_seed"]),
            y_seed=h(vector["y_seed"]),
        )

    def th1(self) -> bytes:
        """``th1`` of the run."""
        return transcript("th1", self.hello, self.challenge)


def _label_usable(key: bytes, state: Json) -> bool:
    """Return whether the lock is in factory state for this key (7.1).

    Nobody is registered and not revoked but this key's own pending join, and
    no other key's label join is pending.
    """
    pending = {bytes.fromhex(p["key_id"]): p for p in state["pending_joins"]}
    owners = [
        bytes.fromhex(r["key_id"]) for r in state["registered"] if not r["revoked"]
    ]
    return all(k == key and k in pending for k in owners) and not any(
        p["method"] == "label" and k != key for k, p in pending.items()
    )


def _open_codes(key: bytes, run: Run, state: Json) -> list[int]:
    """Discriminators of the codes this key may use: the label's, open invitations'."""
    label_open = state["window_open"] and _label_usable(key, state)
    return ([run.discriminator] if label_open else []) + [
        i["discriminator"]
        for i in state["invitations"]
        if i["held_by"] in (None, key.hex())
    ]


def lock_receives_hello(run: Run, message: bytes, state: Json) -> str:
    """Return the lock's answer to a hello ("challenge"), or raise the refusal."""
    if not state["window_open"] and not state["invitations"]:
        raise fail("pairing_closed", "no open code: no answer, no write")
    hello = read_hello(message)
    if hello["lock_id"] not in (run.lock_id, UNKNOWN_LOCK):
        raise fail("wrong_recipient", "another lock's hello")
    key = key_id(hello["controller_identity"])
    known = {bytes.fromhex(r["key_id"]) for r in state["registered"]}
    pending = {bytes.fromhex(p["key_id"]) for p in state["pending_joins"]}
    if key in known and key not in pending:
        raise fail("already_paired", "a known key never pairs again")
    codes = _open_codes(key, run, state)
    if not codes:
        raise fail(
            "invitation_required", "the label only opens a lock in factory state"
        )
    live = state["live_session_hello"]
    if live is not None and bytes.fromhex(live) == message:
        return "challenge"
    if state["failures"] >= LOCKOUT_THRESHOLD:
        raise fail("pairing_locked_out")
    if live is not None:
        raise fail("pairing_busy")
    if hello["discriminator"] not in codes:
        raise fail("pairing_closed", "no open code has this discriminator")
    if choose_suite(hello["offered_suites"], run.lock_suites) is None:
        raise fail("unsupported_suite", "no common suite")
    return "challenge"


@dataclass(frozen=True, slots=True)
class ProofRefusal:
    """How the lock refuses a proof."""

    counted: bool
    session_ended: bool


def lock_receives_proof(run: Run, message: bytes, state: Json) -> None:
    """Check a proof against the run's session; raise the refusal with its effects."""
    if state["failures"] >= LOCKOUT_THRESHOLD:
        raise _proof_error("pairing_locked_out", counted=False, ended=False)
    if not state["session"]:
        raise _proof_error("unexpected_message", counted=False, ended=True)
    if not state["code_open"]:
        raise _proof_error("pairing_closed", counted=False, ended=True)
    try:
        proof = read_proof(message)
        challenge = read_challenge(run.challenge)
        if proof["nonce_l"] != challenge["nonce_l"]:
            raise fail("replayed", "proof to another challenge")
        th1 = run.th1()
        th2 = transcript("th2", th1, proof["unsigned"])
        verify_signature(run.controller_identity, proof["signature"], th2)
    except VerificationError as err:
        raise _proof_error(err.code, counted=False, ended=False) from None
    w0, w1 = password_scalars(run.passcode, run.lock_id)
    try:
        check_share(proof["share_v"])
        z, v = prover_z_v(reduce(run.x_seed), proof["share_v"], w0, w1)
        keys = key_schedule(
            label("pake") + th1,
            run.lock_id,
            share_p=challenge["share_p"],
            share_v=proof["share_v"],
            z=z,
            v=v,
            w0=w0,
        )
        if keys.confirm_v != proof["confirm_v"]:
            raise fail(BAD_MAC, "confirmV")
        k_c, _, k_name = session_keys(keys.shared_key, th1, run.lock_id)
        check_mac(k_c, th2, proof["mac"])
    except VerificationError:
        raise _proof_error(BAD_MAC, counted=True, ended=True) from None
    try:
        open_name(k_name, th1, proof["sealed_name"])
        verify_prekey(run.controller_identity, proof["prekey"])
        if proof["prekey"]["suite"] != challenge["chosen_suite"]:
            raise fail("downgrade", "controller prekey of another suite")
    except VerificationError as err:
        raise _proof_error(err.code, counted=False, ended=True) from None


class ProofError(VerificationError):
    """A refused proof: the code, and whether it counted and ended the session."""

    def __init__(self, code: str, refusal: ProofRefusal) -> None:
        """Keep the effects with the code."""
        super().__init__(code)
        self.refusal = refusal


def _proof_error(code: str, *, counted: bool, ended: bool) -> ProofError:
    return ProofError(code, ProofRefusal(counted, ended))


def controller_receives_challenge(
    run: Run, message: bytes, ca: bytes | None, at_ms: int
) -> Json:
    """Check a challenge to the run's hello as its controller (the QR names the lock)."""
    challenge = read_challenge(message)
    hello = read_hello(run.hello)
    if challenge["nonce_c"] != hello["nonce_c"]:
        raise fail("replayed", "challenge to another hello")
    if challenge["lock_id"] != run.lock_id or key_id(
        challenge["lock_identity"]
    ) != key_id(run.lock_identity):
        raise fail("identity_mismatch", "not the QR's lock")
    if not echo_is_the_offer_as_read(
        hello["offered_suites"],
        challenge["seen_controller_suites"],
        challenge["lock_suites"],
    ) or challenge["chosen_suite"] != choose_suite(
        hello["offered_suites"], challenge["lock_suites"]
    ):
        raise fail("downgrade", "suite negotiation")
    verify_signature(
        challenge["lock_identity"],
        challenge["signature"],
        label("challenge") + run.hello + challenge["unsigned"],
    )
    verify_prekey(challenge["lock_identity"], challenge["prekey"])
    if challenge["prekey"]["suite"] != challenge["chosen_suite"]:
        raise fail("downgrade", "lock prekey of another suite")
    if ca is not None:
        verify_certificate_chain(
            challenge["certificates"], ca, challenge["lock_identity"], at_ms
        )
    check_share(challenge["share_p"])
    return challenge


def controller_receives_result(run: Run, message: bytes) -> None:
    """Check a result after the run's proof as its controller."""
    result = read_result(message)
    hello = read_hello(run.hello)
    if result["nonce_c"] != hello["nonce_c"]:
        raise fail("replayed", "result to another hello")
    challenge, proof = read_challenge(run.challenge), read_proof(run.proof)
    th1 = run.th1()
    th2 = transcript("th2", th1, proof["unsigned"])
    th3 = transcript("th3", th2, proof["signature"], proof["mac"], result["unsigned"])
    verify_signature(run.lock_identity, result["signature"], th3)
    w0, w1 = password_scalars(run.passcode, run.lock_id)
    z, v = verifier_z_v(reduce(run.y_seed), challenge["share_p"], w0, base_mul(w1))
    keys = key_schedule(
        label("pake") + th1,
        run.lock_id,
        share_p=challenge["share_p"],
        share_v=proof["share_v"],
        z=z,
        v=v,
        w0=w0,
    )
    if keys.confirm_p != result["confirm_p"]:
        raise fail(BAD_MAC, "confirmP")
    _, k_l, _ = session_keys(keys.shared_key, th1, run.lock_id)
    check_mac(k_l, th3, result["mac"])
    if result["controller_id"] != key_id(run.controller_identity):
        raise fail("identity_mismatch", "result names another controller")


def echo_is_the_offer_as_read(
    offer: list[int], echo: list[int], lock_suites: list[int]
) -> bool:
    """Section 7: the offer minus ids the lock may not know, in order; every id the lock lists stays."""
    position = 0
    for suite in echo:
        while position < len(offer) and offer[position] != suite:
            position += 1
        if position == len(offer):
            return False
        position += 1
    return all(suite in echo for suite in offer if suite in lock_suites)
