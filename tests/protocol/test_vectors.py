"""Test vectors: the code, vectors.json and docs/protocol.md must agree."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .make_vectors import (
    DOCS,
    VECTORS_JSON,
    build,
    captured_answer_opens,
    captured_frame_opens,
    render_docs_block,
)


@pytest.fixture(scope="module")
def stored() -> dict[str, Any]:
    """Return the committed vectors."""
    data: dict[str, Any] = json.loads(VECTORS_JSON.read_text())
    return data


def test_deterministic_vectors_match_the_code(stored: dict[str, Any]) -> None:
    """Keys, ids, setup code, pairing messages, transcript hashes, envelope bytes."""
    computed, _, _ = build()
    for section, values in computed.items():
        assert stored[section] == values, section


def test_captured_frame_opens_to_the_expected_message(stored: dict[str, Any]) -> None:
    """Decryption is deterministic: the frame opens with the vector keys at the vector time."""
    _, lock_ep, _ = build()
    capture = stored["captured_frame"]
    assert captured_frame_opens(capture["frame"], lock_ep) == capture["expected"]


def test_captured_pairing_answer_opens_to_the_challenge(stored: dict[str, Any]) -> None:
    """The sealed answer opens with the vector answer key, for the vector hello, to the challenge."""
    from custom_components.secure_lock.protocol.pairing_seal import SEALED_ANSWER_SIZE  # noqa: PLC0415

    capture = stored["captured_pairing_answer"]
    assert len(bytes.fromhex(capture["sealed"])) == SEALED_ANSWER_SIZE
    opened = captured_answer_opens(capture["sealed"], stored)
    assert opened == capture["opens_to"] == stored["pairing"]["challenge"]
    body = bytes.fromhex(stored["pairing_seal"]["hello_frame_body"])
    assert (
        body.hex()
        == stored["pairing_seal"]["answer_key_public"] + stored["pairing"]["hello"]
    )


def test_docs_carry_the_same_vectors(stored: dict[str, Any]) -> None:
    """docs/protocol.md embeds exactly vectors.json."""
    assert render_docs_block(stored) in DOCS.read_text()


def test_firmware_vector_verifies(stored: dict[str, Any]) -> None:
    """The stored Ed25519-signed manifest verifies under the vector's Ed25519 key."""
    from custom_components.secure_lock.protocol import ReleasePublicKey  # noqa: PLC0415
    from custom_components.secure_lock.protocol.firmware import verify_manifest  # noqa: PLC0415

    vector = stored["firmware"]
    key = ReleasePublicKey(bytes.fromhex(vector["ed25519_public"]))
    verified = verify_manifest(
        bytes.fromhex(vector["signed_manifest_ed25519_only"]), key
    )
    assert verified.transfer_id.hex() == vector["transfer_id"]
    assert verified.manifest.to_bytes().hex() == vector["manifest"]


def test_resync_vector_verifies(stored: dict[str, Any]) -> None:
    """The notice parses, verifies under the vector lock key, and carries its prekey."""
    from custom_components.secure_lock.protocol.keys import IdentityPublicKey  # noqa: PLC0415
    from custom_components.secure_lock.protocol.resync import ResyncNotice  # noqa: PLC0415

    vector = stored["resync"]
    notice = ResyncNotice.parse(bytes.fromhex(vector["notice"]))
    notice.verify(IdentityPublicKey(bytes.fromhex(stored["lock"]["identity_public"])))
    assert notice.lock_id.hex() == stored["lock"]["lock_id"]
    assert [p.prekey_id.hex() for p in notice.prekeys] == [stored["lock"]["prekey_id"]]
    assert vector["link_frame"] == "52" + vector["notice"]


def test_lifecycle_vectors_verify(stored: dict[str, Any]) -> None:
    """The failure notice verifies; the invitation pairing grants the invited role."""
    from custom_components.secure_lock.protocol import MessageKind, Role  # noqa: PLC0415
    from custom_components.secure_lock.protocol.channel import decode_signed_failure  # noqa: PLC0415
    from custom_components.secure_lock.protocol.keys import IdentityPublicKey  # noqa: PLC0415
    from custom_components.secure_lock.protocol.messages import (
        InvitationCreate,  # noqa: PLC0415
        decode_payload,  # noqa: PLC0415
    )
    from custom_components.secure_lock.protocol.pairing_messages import PairingResult  # noqa: PLC0415

    vector = stored["lifecycle"]
    lock_key = IdentityPublicKey(bytes.fromhex(stored["lock"]["identity_public"]))
    notice = decode_signed_failure(bytes.fromhex(vector["failure_notice"]["notice"]))
    assert notice is not None
    assert notice.lock_key == lock_key.raw
    assert notice.code.value == vector["failure_notice"]["code"]
    lock_key.verify(
        notice.signature, bytes.fromhex(vector["failure_notice"]["signed_input"])
    )
    create = decode_payload(
        MessageKind.INVITATION_CREATE,
        bytes.fromhex(vector["invitation_create_payload"]),
    )
    assert isinstance(create, InvitationCreate)
    assert create.role is Role.GUEST
    result = PairingResult.from_bytes(
        bytes.fromhex(vector["invitation_pairing"]["result"])
    )
    assert result.role is Role.GUEST
    assert vector["invitation_pairing"]["granted_role"] == int(Role.GUEST)
