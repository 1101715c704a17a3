"""Checks every vector of docs/protocol-vectors.json against the specification."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .artifacts import (
    FIRMWARE_BAD_SIGNATURE,
    audit_chain,
    read_envelope,
    read_manifest,
    read_release_key,
    transfer_id,
    verify_certificate_chain,
    verify_envelope,
)
from .frames import Peer, Receiver, frame_hash, receive
from .hpke import x25519_public, xwing_public
from .keys import key_id, prekey_id, read_signed_prekey, routing_id, verify_prekey
from .mismatch import Mismatch, expect
from .pairing_negative import (
    check_certified_challenge,
    check_pairing_negative,
    check_suite_negotiation,
)
from .pairing_vectors import check_invitation, check_pairing, check_resync
from .payloads import audit_entry
from .setup_codes import check_discovery, check_setup_codes
from .wire import KINDS, Reader, VerificationError

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "protocol-vectors.json"

type Json = dict[str, Any]
__all__ = ["VECTORS", "Mismatch", "check_document", "expect"]


def _h(text: str) -> bytes:
    return bytes.fromhex(text)


def check_identity(party: Json, where: str) -> None:
    """Key id, and every prekey: public from private, id, encoding, owner signature."""
    identity = _h(party["identity_public"])
    expect(key_id(identity).hex() == party["key_id"], f"{where}: key id")
    for prekey in party["prekeys"]:
        suite, private = prekey["suite"], _h(prekey["private"])
        public = x25519_public(private) if suite == 1 else xwing_public(private)
        expect(public.hex() == prekey["public"], f"{where}: prekey {suite} public")
        expect(
            prekey_id(suite, public).hex() == prekey["prekey_id"],
            f"{where}: prekey {suite} id",
        )
        reader = Reader(_h(prekey["encoding"]))
        fields = read_signed_prekey(reader)
        reader.end()
        expect(
            (fields["public_key"], fields["valid_from"], fields["valid_until"])
            == (prekey["public"], prekey["valid_from"], prekey["valid_until"])
            and fields["signature"] == prekey["signature"],
            f"{where}: prekey {suite} encoding",
        )
        verify_prekey(identity, fields)


def _prekeys(party: Json) -> dict[tuple[int, bytes], bytes]:
    return {
        (p["suite"], _h(p["prekey_id"])): _h(p["private"]) for p in party["prekeys"]
    }


def check_frames(doc: Json, suite_key: str) -> list[str]:
    """Open every frame of one suite as its recipient and compare every field."""
    lock, suite_doc = doc["lock"], doc["suites"][suite_key]
    suite, ctrl = int(suite_key), suite_doc["controller"]
    lock_id = _h(lock["lock_id"])
    lock_identity, ctrl_identity = (
        _h(lock["identity_public"]),
        _h(ctrl["identity_public"]),
    )
    check_identity(ctrl, f"suite {suite} controller")
    expect(
        routing_id(lock_id, key_id(lock_identity)).hex()
        == suite_doc["routing_id_to_lock"],
        f"suite {suite}: routing id to the lock",
    )
    expect(
        routing_id(lock_id, key_id(ctrl_identity)).hex()
        == suite_doc["routing_id_to_controller"],
        f"suite {suite}: routing id to the controller",
    )
    frames: Json = suite_doc["frames"]
    checked: list[str] = []
    directions: set[tuple[str, str]] = set()
    for name, vector in frames.items():
        where = f"suite {suite} frame {name}"
        frame = _h(vector["frame"])
        if vector["sender"] == "controller":
            receiver = Receiver(
                True,
                lock_id,
                lock_identity,
                _prekeys(lock),
                {key_id(ctrl_identity): Peer(ctrl_identity, suite)},
            )
        else:
            receiver = Receiver(
                False,
                lock_id,
                ctrl_identity,
                _prekeys(ctrl),
                {key_id(lock_identity): Peer(lock_identity, suite)},
            )
        if "answers" in vector:
            request = frames[vector["answers"]]
            receiver.pending[_h(request["inner"]["request_id"])] = frame_hash(
                _h(request["frame"])
            )
        opened = receive(receiver, frame, vector["open_at_ms"])
        expect(opened.suite == suite == vector["suite"], f"{where}: suite")
        expect(
            opened.content_key.hex() == vector["content_key"], f"{where}: content key"
        )
        expect(
            opened.inner["kind"] == vector["kind"]
            and opened.kind == vector["kind_name"],
            f"{where}: kind",
        )
        for field, value in vector["inner"].items():
            got = opened.inner[field]
            expect(
                (got.hex() if isinstance(got, bytes) else got) == value,
                f"{where}: inner {field}",
            )
        expect(opened.payload.hex() == vector["payload"], f"{where}: payload bytes")
        expect(
            opened.payload_fields == vector["payload_fields"],
            f"{where}: payload fields",
        )
        _check_content(doc, name, opened.payload_fields, where)
        directions.add((opened.kind, vector["sender"]))
        checked.append(where)
    kinds = {kind for kind, _ in directions}
    expect(
        kinds == set(KINDS.values()), f"suite {suite}: every message kind has a vector"
    )
    expect(
        {("KEY_ROTATION", "lock"), ("KEY_ROTATION", "controller")} <= directions,
        f"suite {suite}: KEY_ROTATION in both directions",
    )
    return checked


def _check_content(doc: Json, name: str, fields: Json, where: str) -> None:
    """Cross-checks between payloads and the other vectors."""
    firmware = doc["firmware"]
    if name == "firmware_offer":
        expect(
            fields["data"] == firmware["signed_ed25519_only"], f"{where}: offer data"
        )
        expect(
            fields["transfer_id"] == firmware["transfer_id"], f"{where}: transfer id"
        )
    if name == "audit_log_chunk":
        chain = doc["audit_chain"]
        expect(fields["previous_hash"] == chain["chain"][0], f"{where}: previous hash")
        expect(fields["head_hash"] == chain["chain"][-1], f"{where}: head hash")
        expect(
            fields["entries"] == [e["fields"] for e in chain["entries"]],
            f"{where}: entries",
        )


def check_audit_chain(doc: Json) -> list[str]:
    """Recompute the chain hashes from the entry encodings."""
    vector = doc["audit_chain"]
    encodings = [_h(e["encoding"]) for e in vector["entries"]]
    hashes = audit_chain(encodings, _h(vector["chain"][0]))
    expect([h.hex() for h in hashes] == vector["chain"], "audit chain hashes")
    expect(vector["chain"][0] == "00" * 32, "audit chain starts at the zero hash")
    for entry in vector["entries"]:
        expect(
            audit_entry(Reader(_h(entry["encoding"]))) == entry["fields"],
            "audit entry fields",
        )
    return ["audit chain"]


def check_firmware(doc: Json) -> list[str]:
    """Key ids, manifest, transfer id, both envelopes, and no downgrade."""
    vector = doc["firmware"]
    hybrid = read_release_key(_h(vector["release_public_key"]))
    ed_only = read_release_key(_h(vector["release_public_key_ed25519_only"]))
    expect(hybrid.key_id.hex() == vector["key_id"], "release key id")
    expect(hybrid.key_id_for(1).hex() == vector["key_id_ed25519"], "Ed25519 key id")
    expect(hybrid.key_id_for(2).hex() == vector["key_id_mldsa65"], "ML-DSA-65 key id")
    expect(ed_only.ed25519 == hybrid.ed25519, "the Ed25519 halves agree")
    manifest = _h(vector["manifest"])
    expect(read_manifest(manifest) == vector["manifest_fields"], "manifest fields")
    expect(transfer_id(manifest).hex() == vector["transfer_id"], "transfer id")
    for envelope_name, key in (
        ("signed_ed25519_only", ed_only),
        ("signed_hybrid", hybrid),
    ):
        envelope = verify_envelope(_h(vector[envelope_name]), key)
        expect(envelope.manifest == manifest, f"{envelope_name}: manifest")
    expect(
        set(read_envelope(_h(vector["signed_hybrid"])).signatures) == {1, 2},
        "the hybrid envelope carries both signatures",
    )
    try:
        verify_envelope(_h(vector["signed_ed25519_only"]), hybrid)
    except VerificationError as err:
        expect(err.code == FIRMWARE_BAD_SIGNATURE, "downgrade refused with its code")
    else:
        raise Mismatch("a hybrid key accepted an Ed25519-only envelope")
    return ["firmware ed25519", "firmware hybrid", "firmware no downgrade"]


def check_certificates(doc: Json) -> list[str]:
    """Check that the leaf-first chain leads to the manufacturer CA and certifies the lock key."""
    vector = doc["certificates"]
    expect(
        vector["leaf_identity_public"] == doc["lock"]["identity_public"],
        "the leaf is the vector lock's",
    )
    verify_certificate_chain(
        [_h(c) for c in vector["chain_leaf_first"]],
        _h(vector["manufacturer_ca"]),
        _h(vector["leaf_identity_public"]),
        vector["check_at_ms"],
    )
    return ["certificate chain"]


def check_negative(doc: Json) -> list[str]:
    """Every negative frame fails, with the vector's code, at the documented check."""
    lock = doc["lock"]
    lock_id, lock_identity = _h(lock["lock_id"]), _h(lock["identity_public"])
    checked = []
    for vector in doc["negative"]:
        where = f"negative {vector['name']}"
        ctrl = doc["suites"][str(vector["controller_of_suite"])]["controller"]
        ctrl_identity = _h(ctrl["identity_public"])
        state = vector["peer"]
        if vector["receiver"] == "lock":
            peer = Peer(
                ctrl_identity,
                state["suite"],
                state["role"],
                state["revoked"],
                state["high_water"],
                state["valid_from_ms"],
                state["valid_until_ms"],
            )
            receiver = Receiver(
                True,
                lock_id,
                lock_identity,
                _prekeys(lock),
                {key_id(ctrl_identity): peer},
            )
        else:
            peer = Peer(lock_identity, state["suite"], high_water=state["high_water"])
            receiver = Receiver(
                False,
                lock_id,
                ctrl_identity,
                _prekeys(ctrl),
                {key_id(lock_identity): peer},
            )
            for request in vector["pending_requests"]:
                receiver.pending[_h(request["request_id"])] = _h(
                    request["frame_sha256"]
                )
        try:
            receive(receiver, _h(vector["frame"]), vector["now_ms"])
        except VerificationError as err:
            expect(
                err.code == vector["error"],
                f"{where}: {err.code}, not {vector['error']}",
            )
        else:
            raise Mismatch(f"{where}: accepted")
        checked.append(where)
    return checked


def check_document(doc: Json) -> list[str]:
    """Check every vector; return what was checked, raise on the first disagreement."""
    check_identity(doc["lock"], "lock")
    checked = ["lock identity"]
    for suite_key in doc["suites"]:
        checked += check_frames(doc, suite_key)
    checked += check_pairing(doc)
    checked += check_invitation(doc)
    checked += check_resync(doc)
    checked += check_setup_codes(doc)
    checked += check_discovery(doc)
    checked += check_suite_negotiation(doc)
    checked += check_pairing_negative(doc)
    checked += check_negative(doc)
    checked += check_audit_chain(doc)
    checked += check_firmware(doc)
    checked += check_certificates(doc)
    checked += check_certified_challenge(doc)
    return checked
