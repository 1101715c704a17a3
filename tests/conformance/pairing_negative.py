"""Checks of the pairing negative vectors, suite negotiation and the certified challenge."""

from __future__ import annotations

from typing import Any

from .keys import verify_signature
from .mismatch import Mismatch, expect
from .pairing import choose_suite, label, read_challenge, read_hello
from .pairing_receivers import (
    HELLO_NOTICES,
    PROOF_NOTICES,
    ProofError,
    Run,
    controller_receives_challenge,
    controller_receives_result,
    lock_receives_hello,
    lock_receives_proof,
)
from .wire import VerificationError

type Json = dict[str, Any]
BASE_SUITE = "1"


def _h(text: str) -> bytes:
    return bytes.fromhex(text)


def _outcome(run: Run, doc: Json, vector: Json) -> Json:
    """Run the receiver the vector names; return what it refused and how (or that it answered)."""
    message, state = _h(vector["bytes"]), vector["state"]
    try:
        if vector["receiver"] == "lock" and vector["message"] == "hello":
            lock_receives_hello(run, message, state)
            return _challenge_outcome(run, message, vector)
        if vector["receiver"] == "lock" and vector["message"] == "proof":
            lock_receives_proof(run, message, state)
        elif vector["message"] == "challenge":
            ca = (
                _h(doc["certificates"]["manufacturer_ca"])
                if state["manufacturer_ca"]
                else None
            )
            controller_receives_challenge(
                run, message, ca, doc["certificates"]["check_at_ms"]
            )
        else:
            controller_receives_result(run, message)
    except ProofError as err:
        ended = err.refusal.session_ended
        return {
            "error": err.code,
            "counted": err.refusal.counted,
            "session_after": "ended" if ended else "kept",
            "answer": "signed_notice"
            if state["session"] and ended and err.code in PROOF_NOTICES
            else "none",
        }
    except VerificationError as err:
        out: Json = {"error": err.code}
        if vector["receiver"] == "lock":
            out["answer"] = "signed_notice" if err.code in HELLO_NOTICES else "none"
        return out
    raise Mismatch(f"pairing negative {vector['name']}: accepted")


def _challenge_outcome(run: Run, hello: bytes, vector: Json) -> Json:
    """Check that the lock's challenge is signed over this hello and answers it."""
    accepted = {"error": None, "answer": "challenge"}
    if "challenge" not in vector:
        return accepted  # the vector states a refusal: the comparison reports it
    challenge = read_challenge(_h(vector["challenge"]))
    parsed = read_hello(hello)
    verify_signature(
        run.lock_identity,
        challenge["signature"],
        label("challenge") + hello + challenge["unsigned"],
    )
    expect(
        challenge["nonce_c"] == parsed["nonce_c"]
        and challenge["lock_id"] == run.lock_id
        and challenge["lock_identity"] == run.lock_identity
        and challenge["seen_controller_suites"] == parsed["offered_suites"]
        and challenge["chosen_suite"]
        == choose_suite(parsed["offered_suites"], run.lock_suites),
        f"pairing negative {vector['name']}: the challenge answers this hello",
    )
    return accepted


def check_pairing_negative(doc: Json) -> list[str]:
    """Each message fails the check it names, with the code and answer of section 7."""
    run = Run.from_document(doc, BASE_SUITE)
    checked = []
    for vector in doc["pairing_negative"]:
        where = f"pairing negative {vector['name']}"
        outcome = _outcome(run, doc, vector)
        stated = {key: vector[key] for key in outcome}
        expect(outcome == stated, f"{where}: {outcome}, not {stated}")
        checked.append(where)
    return checked


def check_suite_negotiation(doc: Json) -> list[str]:
    """Check that the lock echoes the known offered ids in order and picks the highest common one."""
    run = Run.from_document(doc, BASE_SUITE)
    checked = []
    for vector in doc["suite_negotiation"]:
        where = f"suite negotiation {vector['offered']}"
        raw_hello = _h(vector["hello"])
        hello, challenge = (
            read_hello(raw_hello),
            read_challenge(_h(vector["challenge"])),
        )
        expect(list(raw_hello[52 : 52 + raw_hello[51]]) == vector["offered"], where)
        verify_signature(
            run.lock_identity,
            challenge["signature"],
            label("challenge") + raw_hello + challenge["unsigned"],
        )
        expect(
            challenge["seen_controller_suites"]
            == hello["offered_suites"]
            == vector["seen_controller_suites"],
            f"{where}: the echo is the offer's known ids",
        )
        expect(
            challenge["chosen_suite"]
            == choose_suite(hello["offered_suites"], challenge["lock_suites"])
            == vector["chosen_suite"]
            and challenge["prekey"]["suite"] == vector["chosen_suite"],
            f"{where}: the highest common suite",
        )
        checked.append(where)
    return checked


def check_certified_challenge(doc: Json) -> list[str]:
    """Check that the challenge's chain leads to the manufacturer CA and certifies the lock key."""
    vector = doc["certified_challenge"]
    run = Run.from_document(doc, BASE_SUITE)
    expect(_h(vector["hello"]) == run.hello, "certified challenge: the run's hello")
    challenge = controller_receives_challenge(
        run,
        _h(vector["challenge"]),
        _h(doc[vector["chain"]]["manufacturer_ca"]),
        vector["check_at_ms"],
    )
    expect(
        [c.hex() for c in challenge["certificates"]]
        == doc[vector["chain"]]["chain_leaf_first"],
        "certified challenge: the published chain",
    )
    return ["certified challenge"]
