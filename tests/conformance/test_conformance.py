"""Every vector of docs/protocol-vectors.json, checked by the independent verifier."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from .verifier import VECTORS, Mismatch, check_document
from .wire import KINDS, VerificationError

type Json = dict[str, Any]


@pytest.fixture(scope="module")
def document() -> Json:
    """Load the committed vectors file."""
    data: Json = json.loads(VECTORS.read_text())
    return data


def test_every_vector_conforms_to_the_specification(document: Json) -> None:
    """Both suites, every kind in its direction(s), audit chain, firmware, certificates."""
    checked = check_document(copy.deepcopy(document))
    frames = [c for c in checked if " frame " in c]
    # Besides one frame per kind: KEY_ROTATION goes both ways, KEYPAD_CODE_SET
    # with a typed and a generated PIN, EVENT as state_changed and as report.
    assert len(frames) == 2 * (len(KINDS) + 3)
    for suite in ("1", "2"):
        vectors = document["suites"][suite]["frames"].values()
        assert {
            v["payload_fields"]["pin_choice"]
            for v in vectors
            if v["kind_name"] == "KEYPAD_CODE_SET"
        } == {1, 2}
        assert {
            v["payload_fields"]["event"] for v in vectors if v["kind_name"] == "EVENT"
        } == {1, 8}
    negative = [c for c in checked if c.startswith("negative ")]
    assert len(negative) == len(document["negative"]) >= 30
    assert {"audit chain", "firmware hybrid", "certificate chain"} <= set(checked)
    assert {"pairing suite 1", "pairing suite 2", "invitation", "resync notice"} <= set(
        checked
    )


def _flip_hex(text: str, index: int) -> str:
    raw = bytearray.fromhex(text)
    raw[index] ^= 0x01
    return raw.hex()


def _frame_flip(suite: str, name: str, index: int) -> Any:
    def mutate(doc: Json) -> None:
        vector = doc["suites"][suite]["frames"][name]
        vector["frame"] = _flip_hex(vector["frame"], index)

    return mutate


def _set(path: tuple[str, ...], value: Any) -> Any:
    def mutate(doc: Json) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value(target[path[-1]])

    return mutate


FLIP_LAST = -1


def _negative(name: str, change: Any, section: str = "negative") -> Any:
    def mutate(doc: Json) -> None:
        vectors = doc[section]
        index = next(i for i, v in enumerate(vectors) if v["name"] == name)
        vectors[index] = change(vectors[index])

    return mutate


def _copy_pairing_negative(name: str, source: tuple[str, ...]) -> Any:
    """Replace the bytes of pairing negative ``name`` by the positive message at ``source``."""

    def mutate(doc: Json) -> None:
        value: Any = doc
        for key in source:
            value = value[key]
        _negative(name, lambda v: v | {"bytes": value}, "pairing_negative")(doc)

    return mutate


def _flip_ed25519_signature(doc: Json) -> None:
    """Flip a byte inside the first (Ed25519) signature of the hybrid envelope."""
    vector = doc["firmware"]
    manifest_size = len(vector["manifest"]) // 2
    # "SLFW" | format | manifest(bytes16) | n | algorithm | key id | length | signature
    offset = 4 + 1 + 2 + manifest_size + 1 + 1 + 16 + 2 + 5
    vector["signed_hybrid"] = _flip_hex(vector["signed_hybrid"], offset)


def _pairing(
    suite: str, *path: str, index: int | None = None, value: Any = None
) -> Any:
    """Flip byte ``index`` of a pairing hex field, or set it to ``value``."""
    if index is None:
        return _set(("pairing", suite, *path), lambda _v: value)
    return _set(("pairing", suite, *path), lambda v: _flip_hex(v, index))


MUTATIONS: dict[str, tuple[Any, str | type[Mismatch]]] = {
    "routing id byte": (_frame_flip("1", "unlock", 2), "wrong_recipient"),
    "prekey id byte": (_frame_flip("2", "event", 20), "unknown_prekey"),
    "HPKE enc byte (X25519)": (_frame_flip("1", "lock", 30), "decrypt_failed"),
    "HPKE enc byte (ML-KEM part)": (_frame_flip("2", "lock", 30), "decrypt_failed"),
    "HPKE enc byte (X-Wing X25519 part)": (
        _frame_flip("2", "lock", 26 + 1088 + 3),
        "decrypt_failed",
    ),
    "body byte": (_frame_flip("2", "heartbeat", FLIP_LAST), "decrypt_failed"),
    "content key": (
        _set(
            ("suites", "1", "frames", "unlock", "content_key"),
            lambda v: _flip_hex(v, 0),
        ),
        Mismatch,
    ),
    "payload field": (
        _set(
            ("suites", "2", "frames", "settings", "payload_fields"),
            lambda v: {"auto_relock_seconds": v["auto_relock_seconds"] + 1},
        ),
        Mismatch,
    ),
    "inner counter": (
        _set(("suites", "1", "frames", "event", "inner"), lambda v: v | {"counter": 1}),
        Mismatch,
    ),
    "request a response answers": (
        _set(("suites", "1", "frames", "command_result", "answers"), lambda _v: "lock"),
        "unsolicited_response",
    ),
    "lock prekey signature": (
        _set(
            ("lock", "prekeys"),
            lambda v: [v[0] | {"signature": _flip_hex(v[0]["signature"], 5)}, *v[1:]],
        ),
        Mismatch,
    ),
    "audit chain hash": (
        _set(("audit_chain", "chain"), lambda v: [*v[:-1], _flip_hex(v[-1], 0)]),
        Mismatch,
    ),
    "ML-DSA-65 signature byte": (
        _set(("firmware", "signed_hybrid"), lambda v: _flip_hex(v, len(v) // 2 - 10)),
        "firmware_bad_signature",
    ),
    "Ed25519 signature byte of the hybrid envelope": (
        _flip_ed25519_signature,
        "firmware_bad_signature",
    ),
    "negative vector that is valid at its time": (
        _negative("after_not_after", lambda v: v | {"now_ms": v["now_ms"] - 2}),
        Mismatch,
    ),
    "negative vector with another code": (
        _negative("unregistered_sender", lambda v: v | {"error": "bad_signature"}),
        Mismatch,
    ),
    "negative vector with a fresh counter": (
        _negative(
            "counter_at_the_high_water_mark",
            lambda v: (
                v | {"peer": v["peer"] | {"high_water": v["peer"]["high_water"] - 1}}
            ),
        ),
        Mismatch,
    ),
    "pairing proof MAC": (_pairing("1", "proof", index=FLIP_LAST), "bad_mac"),
    "pairing result confirmP": (_pairing("2", "result", index=2 + 32), Mismatch),
    "pairing challenge signature": (
        _pairing("2", "challenge", index=FLIP_LAST),
        "bad_signature",
    ),
    "pairing passcode": (
        _set(("pairing", "1", "setup"), lambda v: v | {"passcode": v["passcode"] + 1}),
        Mismatch,
    ),
    "pairing scalar seed": (_pairing("2", "x_seed", index=0), Mismatch),
    "sealed pairing answer byte": (
        _pairing("1", "sealed_challenge", "sealed", index=40),
        "decrypt_failed",
    ),
    "sealed pairing answer to another frame": (
        _pairing("2", "sealed_challenge", "controller_frame", index=FLIP_LAST),
        "decrypt_failed",
    ),
    "failure notice signature": (
        _pairing("1", "failure_notice", "notice", index=FLIP_LAST),
        "bad_signature",
    ),
    "resync notice signature": (
        _set(("resync", "notice"), lambda v: _flip_hex(v, FLIP_LAST)),
        "bad_signature",
    ),
    "pairing negative hello answered silently": (
        _negative(
            "five_failed_guesses", lambda v: v | {"answer": "none"}, "pairing_negative"
        ),
        Mismatch,
    ),
    "pairing negative proof not counted": (
        _negative(
            "confirm_v_changed", lambda v: v | {"counted": False}, "pairing_negative"
        ),
        Mismatch,
    ),
    "pairing negative that is the valid proof": (
        _copy_pairing_negative("proof_mac_changed", ("pairing", "1", "proof")),
        Mismatch,
    ),
    "pairing negative result with another code": (
        _negative(
            "confirm_p_changed",
            lambda v: v | {"error": "bad_signature"},
            "pairing_negative",
        ),
        Mismatch,
    ),
    "pairing negative known key not registered": (
        _negative(
            "hello_with_a_revoked_key",
            lambda v: v | {"state": v["state"] | {"registered": []}},
            "pairing_negative",
        ),
        Mismatch,
    ),
    "pairing negative owner's key in factory state": (
        _negative(
            "label_hello_once_the_lock_has_an_owner",
            lambda v: (
                v
                | {
                    "state": v["state"]
                    | {
                        "registered": [
                            r | {"revoked": True} for r in v["state"]["registered"]
                        ]
                    }
                }
            ),
            "pairing_negative",
        ),
        Mismatch,
    ),
    "pairing negative invitation withdrawn": (
        _negative(
            "invitation_hello_with_an_open_invitation",
            lambda v: v | {"state": v["state"] | {"invitations": []}},
            "pairing_negative",
        ),
        Mismatch,
    ),
    "pairing negative challenge to another hello": (
        _negative(
            "invitation_hello_with_an_open_invitation",
            lambda v: v | {"bytes": _flip_hex(v["bytes"], FLIP_LAST)},
            "pairing_negative",
        ),
        Mismatch,
    ),
    "suite negotiation chosen suite": (
        _set(
            ("suite_negotiation",),
            lambda v: [v[0] | {"chosen_suite": 1}, *v[1:]],
        ),
        Mismatch,
    ),
    "certified challenge byte": (
        _set(("certified_challenge", "challenge"), lambda v: _flip_hex(v, FLIP_LAST)),
        "bad_signature",
    ),
    "setup code digit": (
        _set(("setup_codes",), lambda v: [v[0] | {"passcode": v[0]["passcode"] ^ 1}]),
        Mismatch,
    ),
    "setup code QR lock id": (
        _set(
            ("setup_codes",),
            lambda v: [v[0] | {"qr_text": v[0]["qr_text"][:-1] + "0"}, *v[1:]],
        ),
        Mismatch,
    ),
    "discovery answer lock id": (
        _set(("discovery", "answer"), lambda v: _flip_hex(v, FLIP_LAST)),
        Mismatch,
    ),
    "invitation passcode": (
        _set(("invitation", "passcode"), lambda v: v + 1),
        Mismatch,
    ),
    "certificate leaf byte": (
        _set(
            ("certificates", "chain_leaf_first"),
            lambda v: [_flip_hex(v[0], len(v[0]) // 2 - 1), *v[1:]],
        ),
        "certificate_invalid",
    ),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_the_verifier_rejects_a_changed_vector(document: Json, name: str) -> None:
    """A verifier that accepted anything would pass the test above; this one cannot."""
    mutate, expected = MUTATIONS[name]
    doc = copy.deepcopy(document)
    mutate(doc)
    if isinstance(expected, str):
        with pytest.raises(VerificationError) as caught:
            check_document(doc)
        assert caught.value.code == expected
    else:
        with pytest.raises(expected):
            check_document(doc)
