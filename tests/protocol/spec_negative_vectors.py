"""Negative vectors for docs/protocol-vectors.json: one frame per receiver check.

Each frame is made from a frame of the positive vectors by changing exactly
one thing, so it passes every check before the one it is meant to fail.  A
changed inner message is re-signed and re-encrypted under the base frame's
content key (the HPKE part stays valid: it covers only the header), so the
negative vectors are as deterministic as the frames they start from.  Every
vector is checked against the project's receivers before it is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from custom_components.secure_lock.protocol import (
    ControllerEndpoint,
    ControllerRecord,
    ControllerRegistry,
    LockEndpoint,
    MessageKind,
    PairedLock,
    ProtocolError,
    Role,
    SuiteId,
)
from custom_components.secure_lock.protocol.envelope import (
    HEADER_SIZE,
    WRAPPED_KEY_SIZE,
    InnerMessage,
    frame_hash,
    open_frame,
    routing_id,
    signature_input,
)
from custom_components.secure_lock.protocol.kem import KemPrivateKey
from custom_components.secure_lock.protocol.keys import IdentityPrivateKey, SignedPrekey
from custom_components.secure_lock.protocol.messages import Direction, KeyRotation
from custom_components.secure_lock.protocol.rng import DeterministicRng
from custom_components.secure_lock.protocol.suites import params

if TYPE_CHECKING:
    from .make_spec_vectors import Parties, SuiteFrames

type Json = dict[str, Any]

_PAYLOAD_LENGTH_AT = 125
"""Offset of ``payload_len`` in the inner message (section 8)."""


@dataclass(frozen=True, slots=True)
class PeerState:
    """The receiver's record of the sender (lock side) or of the lock."""

    suite: SuiteId
    role: Role = Role.ADMIN
    revoked: bool = False
    high_water: int = 0
    valid_from_ms: int = 0
    valid_until_ms: int = 0

    def to_json(self) -> Json:
        """Return the state as the vector states it."""
        return {
            "suite": int(self.suite),
            "role": int(self.role),
            "revoked": self.revoked,
            "high_water": self.high_water,
            "valid_from_ms": self.valid_from_ms,
            "valid_until_ms": self.valid_until_ms,
        }


class NegativeBuilder:
    """Derives failing frames from the positive frames and checks them with the code."""

    def __init__(
        self, parties: Parties, frames: dict[SuiteId, SuiteFrames], open_at_ms: int
    ) -> None:
        """Start from the positive frames of both suites."""
        self.parties = parties
        self.frames = frames
        self.open_at_ms = open_at_ms
        self.vectors: list[Json] = []

    def base(self, suite: SuiteId, name: str) -> tuple[bytes, bytes]:
        """Return a positive frame and its content key."""
        frames = self.frames[suite]
        return frames.raw[name], bytes.fromhex(frames.frames[name]["content_key"])

    def inner_of(self, suite: SuiteId, name: str) -> InnerMessage:
        """Open a positive frame as its recipient (project code) and return its inner message."""
        frame, _ = self.base(suite, name)
        lock = self.parties.lock
        if self.frames[suite].frames[name]["sender"] == "controller":
            own, find = lock.key_id, lock.find_prekey
        else:
            ctrl = self.parties.controllers[suite]
            own, find = ctrl.key_id, ctrl.find_prekey
        return open_frame(frame, routing_id(lock.lock_id, own), find).inner

    def reseal(
        self,
        suite: SuiteId,
        name: str,
        inner: bytes,
        signer: IdentityPrivateKey,
        *,
        bad_signature: bool = False,
    ) -> bytes:
        """Sign ``inner`` and encrypt it under the base frame's content key."""
        frame, content_key = self.base(suite, name)
        wrapped_end = HEADER_SIZE + params(suite).enc_size + WRAPPED_KEY_SIZE
        header = frame[:HEADER_SIZE]
        enc = frame[HEADER_SIZE : HEADER_SIZE + params(suite).enc_size]
        signature = bytearray(signer.sign(signature_input(header, enc, inner)))
        if bad_signature:
            signature[0] ^= 1
        body = ChaCha20Poly1305(content_key).encrypt(
            bytes(12), inner + bytes(signature), frame[:wrapped_end]
        )
        return frame[:wrapped_end] + body

    def changed(
        self,
        suite: SuiteId,
        name: str,
        signer: IdentityPrivateKey | None = None,
        /,
        **changes: Any,
    ) -> bytes:
        """Reseal ``name`` with inner fields replaced (encoded by the project)."""
        inner = replace(self.inner_of(suite, name), **changes)
        signer = signer or self.parties.controllers[suite].signing_key
        return self.reseal(
            suite, name, inner.to_bytes(params(suite).payload_capacity), signer
        )

    def raw_inner(
        self, suite: SuiteId, name: str, edit: Callable[[bytearray], None]
    ) -> bytes:
        """Reseal ``name`` with its inner bytes edited directly (non-canonical forms)."""
        inner = bytearray(
            self.inner_of(suite, name).to_bytes(params(suite).payload_capacity)
        )
        edit(inner)
        return self.reseal(
            suite, name, bytes(inner), self.parties.controllers[suite].signing_key
        )

    def add(
        self,
        check: str,
        name: str,
        frame: bytes,
        error: str,
        *,
        controller_suite: SuiteId = SuiteId.X25519_CHACHA20,
        receiver: str = "lock",
        peer: PeerState | None = None,
        now_ms: int | None = None,
        pending: tuple[str, ...] = (),
    ) -> None:
        """Record a vector after the project's receiver refused it with ``error``."""
        peer = peer or PeerState(controller_suite)
        now = self.open_at_ms if now_ms is None else now_ms
        code = self._project_code(
            frame, controller_suite, receiver, peer=peer, now=now, pending=pending
        )
        if code != error:
            raise AssertionError(f"{name}: the code says {code}, the vector {error}")
        self.vectors.append(
            {
                "check": check,
                "name": name,
                "controller_of_suite": int(controller_suite),
                "receiver": receiver,
                "peer": peer.to_json(),
                "now_ms": now,
                "pending_requests": [
                    {
                        "request_id": self.frames[controller_suite].frames[p]["inner"][
                            "request_id"
                        ],
                        "frame_sha256": frame_hash(
                            self.frames[controller_suite].raw[p]
                        ).hex(),
                    }
                    for p in pending
                ],
                "frame": frame.hex(),
                "error": error,
            }
        )

    def _project_code(
        self,
        frame: bytes,
        controller_suite: SuiteId,
        receiver: str,
        *,
        peer: PeerState,
        now: int,
        pending: tuple[str, ...],
    ) -> str:
        lock = self.parties.lock
        ctrl = self.parties.controllers[controller_suite]
        try:
            if receiver == "lock":
                registry = ControllerRegistry()
                registry.add(
                    ControllerRecord(
                        ctrl.key_id,
                        "Vector HA",
                        ctrl.public_bundle(),
                        peer.role,
                        peer.suite,
                        peer.valid_from_ms,
                        peer.valid_until_ms,
                        peer.revoked,
                        peer.high_water,
                    )
                )
                LockEndpoint(lock, registry).open(frame, now)
            else:
                paired = PairedLock(
                    lock.lock_id,
                    lock.public_bundle(suites=(peer.suite,)),
                    peer.suite,
                    Role.ADMIN,
                    lock_high_water=peer.high_water,
                )
                endpoint = ControllerEndpoint(ctrl, paired)
                for name in pending:
                    request = self.frames[controller_suite]
                    endpoint._pending[  # noqa: SLF001
                        bytes.fromhex(request.frames[name]["inner"]["request_id"])
                    ] = (frame_hash(request.raw[name]), now)
                endpoint.open(frame, now)
        except ProtocolError as err:
            return err.code.value
        return "accepted"


def negative_vectors(
    parties: Parties, frames: dict[SuiteId, SuiteFrames], open_at_ms: int
) -> list[Json]:
    """Return the negative vectors in the order of the receiver checks (section 8.1)."""
    one, two = SuiteId.X25519_CHACHA20, SuiteId.MLKEM768_X25519_CHACHA20
    b = NegativeBuilder(parties, frames, open_at_ms)
    unlock = b.base(one, "unlock")[0]
    ctrl = parties.controllers[one]
    unlock_inner = b.inner_of(one, "unlock")

    def flip(data: bytes, index: int) -> bytes:
        out = bytearray(data)
        out[index] ^= 1
        return bytes(out)

    # Check 1: the clear header.
    b.add("1 length", "shorter_than_a_header", unlock[: HEADER_SIZE - 1], "malformed")
    b.add(
        "1 version", "unknown_version", bytes([2]) + unlock[1:], "unsupported_version"
    )
    b.add(
        "1 suite",
        "unknown_suite",
        unlock[:1] + bytes([9]) + unlock[2:],
        "unsupported_suite",
    )
    b.add("1 frame length", "one_byte_too_long", unlock + bytes(1), "malformed")
    # Check 2: routing and prekey.
    b.add(
        "2 routing id",
        "routing_id_of_another_recipient",
        flip(unlock, 2),
        "wrong_recipient",
    )
    b.add(
        "2 prekey id",
        "prekey_not_held",
        flip(unlock, HEADER_SIZE - 1),
        "unknown_prekey",
    )
    # Check 3: HPKE, AEAD, inner encoding.
    b.add("3 HPKE", "hpke_enc_changed", flip(unlock, HEADER_SIZE + 1), "decrypt_failed")
    b.add("3 AEAD", "body_changed", flip(unlock, len(unlock) - 1), "decrypt_failed")
    b.add(
        "3 inner encoding",
        "inner_suite_unknown",
        b.raw_inner(one, "unlock", lambda i: i.__setitem__(1, 9)),
        "unsupported_suite",
    )
    b.add(
        "3 inner encoding",
        "unknown_direction",
        b.raw_inner(one, "unlock", lambda i: i.__setitem__(50, 3)),
        "malformed",
    )
    b.add(
        "3 inner encoding",
        "unknown_kind",
        b.raw_inner(one, "unlock", lambda i: i.__setitem__(slice(51, 53), b"\x00\x99")),
        "malformed",
    )
    capacity = params(one).payload_capacity
    b.add(
        "3 inner encoding",
        "payload_len_beyond_capacity",
        b.raw_inner(
            one,
            "unlock",
            lambda i: i.__setitem__(
                slice(_PAYLOAD_LENGTH_AT, _PAYLOAD_LENGTH_AT + 2),
                (capacity + 1).to_bytes(2, "big"),
            ),
        ),
        "malformed",
    )
    b.add(
        "3 inner encoding",
        "non_zero_padding",
        b.raw_inner(one, "unlock", lambda i: i.__setitem__(-1, 1)),
        "malformed",
    )
    # Check 4: inner copies, addressing, direction.
    b.add(
        "4 inner version",
        "inner_version_2",
        b.changed(one, "unlock", version=2),
        "unsupported_version",
    )
    b.add(
        "4 inner suite",
        "inner_suite_differs_from_header",
        b.changed(one, "unlock", suite=two),
        "downgrade",
    )
    b.add(
        "4 lock id",
        "for_another_lock",
        b.changed(one, "unlock", lock_id=bytes(16)),
        "wrong_recipient",
    )
    b.add(
        "4 recipient id",
        "for_another_recipient",
        b.changed(one, "unlock", recipient_id=ctrl.key_id),
        "wrong_recipient",
    )
    b.add(
        "4 direction",
        "direction_lock_to_controller",
        b.changed(one, "unlock", direction=Direction.LOCK_TO_CONTROLLER),
        "wrong_direction",
    )
    b.add(
        "4 direction of the kind",
        "command_result_sent_to_the_lock",
        b.changed(one, "unlock", kind=MessageKind.COMMAND_RESULT),
        "wrong_direction",
    )
    # Check 5: sender, pairing suite, signature.
    guest = parties.guest[one]
    b.add(
        "5 sender",
        "unregistered_sender",
        b.changed(one, "unlock", guest.signing_key, sender_id=guest.key_id),
        "unknown_sender",
    )
    ctrl_two = parties.controllers[two]
    b.add(
        "5 pairing suite",
        "suite_1_frame_from_a_suite_2_controller",
        b.changed(one, "unlock", ctrl_two.signing_key, sender_id=ctrl_two.key_id),
        "downgrade",
        controller_suite=two,
    )
    b.add(
        "5 signature",
        "signature_changed",
        b.reseal(
            one,
            "unlock",
            unlock_inner.to_bytes(capacity),
            ctrl.signing_key,
            bad_signature=True,
        ),
        "bad_signature",
    )
    # Check 6: a request carries no reply hash.
    b.add(
        "6 reply_to",
        "request_with_reply_to",
        b.changed(one, "unlock", reply_to=bytes(range(32))),
        "malformed",
    )
    # Check 7: times, then the counter.
    b.add(
        "7 lifetime",
        "unlock_valid_for_30001_ms",
        b.changed(one, "unlock", not_after_ms=unlock_inner.issued_at_ms + 30_001),
        "lifetime_too_long",
    )
    b.add(
        "7 not yet valid",
        "issued_more_than_5_s_ahead",
        unlock,
        "not_yet_valid",
        now_ms=unlock_inner.issued_at_ms - 5_001,
    )
    b.add(
        "7 expired",
        "after_not_after",
        unlock,
        "expired",
        now_ms=unlock_inner.not_after_ms + 1,
    )
    b.add(
        "7 counter",
        "counter_at_the_high_water_mark",
        unlock,
        "replayed",
        peer=PeerState(one, high_water=unlock_inner.counter),
    )
    # Check 8: payload, rotation announcement.
    b.add(
        "8 payload",
        "settings_above_3600_s",
        b.changed(one, "settings", payload=(3601).to_bytes(2, "big")),
        "malformed",
    )
    b.add(
        "8 payload",
        "trailing_payload_byte",
        b.changed(one, "unlock", payload=b"\x00"),
        "malformed",
    )
    b.add(
        "8 payload",
        "controller_add_bundle_prekey_signature_changed",
        b.changed(
            one,
            "controller_add",
            payload=_flip_bundle_signature(b.inner_of(one, "controller_add").payload),
        ),
        "bad_signature",
    )
    rng = DeterministicRng(b"secure-lock spec vectors v1/negative")
    stranger = guest.current_prekey(one).signed
    b.add(
        "8 rotation",
        "rotation_to_a_prekey_of_another_owner",
        b.changed(
            one, "key_rotation_controller", payload=KeyRotation(stranger).to_bytes()
        ),
        "identity_mismatch",
    )
    other_suite = SignedPrekey.create(
        ctrl_two.signing_key,
        KemPrivateKey.generate(one, rng).public_key,
        unlock_inner.issued_at_ms,
        unlock_inner.issued_at_ms + 90_000_000,
    )
    b.add(
        "8 rotation",
        "rotation_to_a_prekey_of_another_suite",
        b.changed(
            two, "key_rotation_controller", payload=KeyRotation(other_suite).to_bytes()
        ),
        "downgrade",
        controller_suite=two,
    )
    # Check 10: revocation, then the role (after the mark moved).
    b.add(
        "10 revoked",
        "revoked_sender",
        unlock,
        "revoked",
        peer=PeerState(one, revoked=True),
    )
    b.add(
        "10 role",
        "guest_changes_settings",
        b.base(one, "settings")[0],
        "unauthorized",
        peer=PeerState(
            one, role=Role.GUEST, valid_until_ms=unlock_inner.not_after_ms + 1
        ),
    )
    b.add(
        "10 role",
        "guest_without_an_end",
        unlock,
        "unauthorized",
        peer=PeerState(one, role=Role.GUEST),
    )
    # Controller side: reply binding and the counter before a clock complaint.
    b.add(
        "6 reply binding",
        "result_for_no_pending_request",
        b.base(one, "command_result")[0],
        "unsolicited_response",
        receiver="controller",
    )
    b.add(
        "6 reply binding",
        "event_with_reply_to",
        b.changed(one, "event", parties.lock.signing_key, reply_to=bytes(range(32))),
        "malformed",
        receiver="controller",
    )
    event = b.inner_of(one, "event")
    b.add(
        "7 expired",
        "event_after_not_after",
        b.base(one, "event")[0],
        "expired",
        receiver="controller",
        now_ms=event.not_after_ms + 1,
    )
    b.add(
        "7 counter first",
        "stale_and_expired_event_is_a_replay",
        b.base(one, "event")[0],
        "replayed",
        receiver="controller",
        now_ms=event.not_after_ms + 1,
        peer=PeerState(one, high_water=event.counter),
    )
    return b.vectors


def _flip_bundle_signature(payload: bytes) -> bytes:
    """Flip a byte of the first prekey signature in a ``CONTROLLER_ADD`` bundle."""
    # identity(32) count(1) owner(16) suite(1) kem_public(32) from(8) until(8) signature
    at = 32 + 1 + 16 + 1 + 32 + 8 + 8
    out = bytearray(payload)
    out[at] ^= 1
    return bytes(out)
