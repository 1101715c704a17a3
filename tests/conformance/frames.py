"""Opening a frame with every receiver check, in the order of section 8.1."""

from __future__ import annotations

from dataclasses import dataclass, field
import hashlib
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from .hpke import DECRYPT_FAILED, open_base
from .keys import key_id, routing_id, verify_prekey, verify_signature
from .payloads import decode_payload
from .wire import (
    C2L,
    DIRECTIONS,
    HEADER_SIZE,
    KINDS,
    L2C,
    LABEL_ENVELOPE,
    LABEL_FRAME_KEY,
    LIFETIME_MS,
    MALFORMED,
    MAX_CLOCK_SKEW_MS,
    RESPONSE_KINDS,
    ROLE_KINDS,
    ROLES,
    SHORT_LIFETIME_KINDS,
    SHORT_LIFETIME_MS,
    SUITES,
    Reader,
    VerificationError,
    fail,
    may_travel,
)

PROTOCOL_VERSION = 1
CONTENT_KEY_SIZE = 32
ZERO_NONCE = bytes(12)
NO_REPLY = bytes(32)


@dataclass
class Peer:
    """What a receiver holds about one peer after pairing."""

    identity_public: bytes
    suite: int
    role: int = 1
    revoked: bool = False
    high_water: int = 0
    valid_from_ms: int = 0
    valid_until_ms: int = 0


@dataclass
class Receiver:
    """A lock (``is_lock``) or a controller, with its keys and its peers."""

    is_lock: bool
    lock_id: bytes
    identity_public: bytes
    prekeys: dict[tuple[int, bytes], bytes]
    """(suite, prekey id) -> private KEM key, for every prekey still held."""
    peers: dict[bytes, Peer]
    """By key id; a controller has exactly one: its lock."""
    pending: dict[bytes, bytes] = field(default_factory=dict)
    """Controller only: request id -> SHA-256 of the request frame it sent."""


@dataclass
class Opened:
    """A frame that passed every check."""

    suite: int
    content_key: bytes
    inner: dict[str, Any]
    kind: str
    payload: bytes
    payload_fields: dict[str, Any]


def _parse_inner(body: bytes, capacity: int) -> dict[str, Any]:
    r = Reader(body)
    inner: dict[str, Any] = {"version": r.u8(), "suite": r.u8()}
    if inner["suite"] not in SUITES:
        raise fail("unsupported_suite", "inner suite unknown")
    inner |= {
        "lock_id": r.take(16),
        "sender_id": r.take(16),
        "recipient_id": r.take(16),
        "direction": r.enum(1, DIRECTIONS),
        "kind": r.enum(2, KINDS),
        "counter": r.u64(),
        "issued_at_ms": r.u64(),
        "not_after_ms": r.u64(),
        "request_id": r.take(16),
        "reply_to": r.take(32),
    }
    length = r.u16()
    if length > capacity:
        raise fail(MALFORMED, "payload_len beyond capacity")
    inner["payload"] = r.take(length)
    if any(r.take(capacity - length)):
        raise fail(MALFORMED, "non-zero padding")
    r.end()
    return inner


def _decrypt(
    receiver: Receiver, frame: bytes
) -> tuple[int, bytes, dict[str, Any], bytes]:
    """Run checks 1-3: header, routing, prekey, HPKE, AEAD, inner parse."""
    if len(frame) < HEADER_SIZE:
        raise fail(MALFORMED, "shorter than a header")
    if frame[0] != PROTOCOL_VERSION:
        raise fail("unsupported_version")
    suite = frame[1]
    if suite not in SUITES:
        raise fail("unsupported_suite")
    params = SUITES[suite]
    if len(frame) != params.frame_size:
        raise fail(MALFORMED, "wrong length for the suite")
    header = frame[:HEADER_SIZE]
    own_id = key_id(receiver.identity_public)
    if header[2:18] != routing_id(receiver.lock_id, own_id):
        raise fail("wrong_recipient", "routing id")
    private = receiver.prekeys.get((suite, header[18:26]))
    if private is None:
        raise fail("unknown_prekey")
    wrapped_end = HEADER_SIZE + params.enc_size + CONTENT_KEY_SIZE + 16
    wrapped = frame[HEADER_SIZE:wrapped_end]
    content_key = open_base(suite, private, wrapped, LABEL_FRAME_KEY + header)
    if len(content_key) != CONTENT_KEY_SIZE:
        raise fail(DECRYPT_FAILED, "content key length")
    try:
        body = ChaCha20Poly1305(content_key).decrypt(
            ZERO_NONCE, frame[wrapped_end:], frame[:wrapped_end]
        )
    except InvalidTag:
        raise fail(DECRYPT_FAILED, "body") from None
    inner_bytes, signature = body[:-64], body[-64:]
    inner = _parse_inner(inner_bytes, params.payload_capacity)
    signed = LABEL_ENVELOPE + header + wrapped[: params.enc_size] + inner_bytes
    return suite, content_key, inner, signature + signed


def _check_times(inner: dict[str, Any], kind: str, now_ms: int) -> None:
    limit = SHORT_LIFETIME_MS if kind in SHORT_LIFETIME_KINDS else LIFETIME_MS
    if inner["not_after_ms"] - inner["issued_at_ms"] > limit:
        raise fail("lifetime_too_long")
    if inner["issued_at_ms"] > now_ms + MAX_CLOCK_SKEW_MS:
        raise fail("not_yet_valid")
    if now_ms > inner["not_after_ms"]:
        raise fail("expired")


def _may_send(peer: Peer, kind: str, now_ms: int) -> bool:
    role = ROLES[peer.role]
    if kind not in ROLE_KINDS[role]:
        return False
    if role == "guest" and not peer.valid_until_ms:
        return False
    if peer.valid_from_ms and now_ms < peer.valid_from_ms:
        return False
    return not (peer.valid_until_ms and now_ms >= peer.valid_until_ms)


def receive(receiver: Receiver, frame: bytes, now_ms: int) -> Opened:
    """Open ``frame`` as ``receiver`` at ``now_ms``; raise the first failing check's code."""
    suite, content_key, inner, signature_and_signed = _decrypt(receiver, frame)
    signature, signed = signature_and_signed[:64], signature_and_signed[64:]
    # 4. Inner copies of the header, addressing, direction.
    if inner["version"] != PROTOCOL_VERSION:
        raise fail("unsupported_version", "inner version")
    if inner["suite"] != suite:
        raise fail("downgrade", "inner suite differs from the header")
    if inner["lock_id"] != receiver.lock_id or inner["recipient_id"] != key_id(
        receiver.identity_public
    ):
        raise fail("wrong_recipient", "inner addressing")
    kind = KINDS[inner["kind"]]
    expected = C2L if receiver.is_lock else L2C
    if inner["direction"] != expected or not may_travel(kind, expected):
        raise fail("wrong_direction")
    # 5. Sender, suite fixed at pairing, signature.
    peer = receiver.peers.get(inner["sender_id"])
    if peer is None:
        raise fail("unknown_sender")
    if inner["suite"] != peer.suite:
        raise fail("downgrade", "suite differs from the pairing suite")
    verify_signature(peer.identity_public, signature, signed)
    # 6. Reply binding.
    if receiver.is_lock or kind not in RESPONSE_KINDS:
        if inner["reply_to"] != NO_REPLY:
            raise fail(MALFORMED, "reply_to set outside a response")
    elif receiver.pending.get(inner["request_id"]) != inner["reply_to"]:
        raise fail("unsolicited_response")
    # 7. Times and counter; a controller reports a replay before a time failure.
    try:
        _check_times(inner, kind, now_ms)
    except VerificationError:
        if not receiver.is_lock and inner["counter"] <= peer.high_water:
            raise fail("replayed") from None
        raise
    if inner["counter"] <= peer.high_water:
        raise fail("replayed")
    # 8. Payload, and a rotation announcement's prekey.
    fields = decode_payload(kind, inner["payload"])
    if kind == "KEY_ROTATION":
        verify_prekey(peer.identity_public, fields["prekey"])
        if fields["prekey"]["suite"] != peer.suite:
            raise fail("downgrade", "rotated prekey of another suite")
    # 9. The high-water mark moves (durably, in a real receiver) ...
    peer.high_water = inner["counter"]
    # 10. ... and only then revocation and role (answered with a signed result).
    if receiver.is_lock:
        if peer.revoked:
            raise fail("revoked")
        if not _may_send(peer, kind, now_ms):
            raise fail("unauthorized")
    return Opened(suite, content_key, inner, kind, inner["payload"], fields)


def frame_hash(frame: bytes) -> bytes:
    """SHA-256 of a request frame: what a response's ``reply_to`` holds."""
    return hashlib.sha256(frame).digest()
