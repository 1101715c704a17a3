"""Fixed-size frames: outer header, HPKE-wrapped content key, signed inner message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import hashlib

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from .encoding import Reader, Writer
from .errors import ErrorCode, MalformedError, ProtocolError
from .identity import LOCK_ID_SIZE
from .keys import (
    KEY_ID_SIZE,
    PREKEY_ID_SIZE,
    SIGNATURE_SIZE,
    IdentityPrivateKey,
    Prekey,
    SignedPrekey,
)
from .messages import REQUEST_ID_SIZE, Direction, MessageKind, kind_from_wire
from .rng import Rng
from .state import enum_from_wire
from .suites import SuiteId, params, suite_from_wire

PROTOCOL_VERSION = 1
ROUTING_ID_SIZE = 16
HEADER_SIZE = 1 + 1 + ROUTING_ID_SIZE + PREKEY_ID_SIZE
CONTENT_KEY_SIZE = 32
AEAD_TAG_SIZE = 16
WRAPPED_KEY_SIZE = CONTENT_KEY_SIZE + AEAD_TAG_SIZE
REPLY_HASH_SIZE = 32
INNER_FIXED_SIZE = (
    1
    + 1
    + LOCK_ID_SIZE
    + 2 * KEY_ID_SIZE  # version, suite, lock, sender, recipient
    + 1
    + 2
    + 8
    + 8
    + 8
    + REQUEST_ID_SIZE
    + REPLY_HASH_SIZE
    + 2
)
NO_REPLY = bytes(REPLY_HASH_SIZE)

_ROUTE_LABEL = b"secure-lock/v1/route\x00"
_HPKE_INFO_LABEL = b"secure-lock/v1/frame-key\x00"
_SIGNATURE_LABEL = b"secure-lock/v1/envelope\x00"
# Safe only because each content key is fresh random and encrypts exactly one body.
_ZERO_NONCE = bytes(12)


def routing_id(lock_id: bytes, recipient_key_id: bytes) -> bytes:
    """Return the opaque routing id the broker sees for a recipient at one lock.

    The lock id is part of it, so one controller paired with several locks
    has an unrelated routing id at each: the relay cannot link them.
    """
    if len(lock_id) != LOCK_ID_SIZE or len(recipient_key_id) != KEY_ID_SIZE:
        raise ValueError("routing id needs a lock id and a key id")
    return hashlib.sha256(_ROUTE_LABEL + lock_id + recipient_key_id).digest()[
        :ROUTING_ID_SIZE
    ]


def frame_size(suite: SuiteId) -> int:
    """Return the one length every frame of ``suite`` has."""
    p = params(suite)
    inner = INNER_FIXED_SIZE + p.payload_capacity + SIGNATURE_SIZE
    return HEADER_SIZE + p.enc_size + WRAPPED_KEY_SIZE + inner + AEAD_TAG_SIZE


def frame_hash(frame: bytes) -> bytes:
    """Hash a request frame; responses are signed over it."""
    return hashlib.sha256(frame).digest()


@dataclass(frozen=True, slots=True)
class OuterHeader:
    """The only clear-text part: what routing needs."""

    version: int
    suite: SuiteId
    routing_id: bytes
    prekey_id: bytes

    def to_bytes(self) -> bytes:
        """Return the 26-byte header."""
        return (
            Writer()
            .u8(self.version)
            .u8(self.suite)
            .fixed(self.routing_id, ROUTING_ID_SIZE)
            .fixed(self.prekey_id, PREKEY_ID_SIZE)
            .finish()
        )

    @classmethod
    def parse(cls, frame: bytes) -> OuterHeader:
        """Parse the header and check the frame length for its suite."""
        if not isinstance(frame, (bytes, bytearray)) or len(frame) < HEADER_SIZE:
            raise MalformedError("frame too short")
        reader = Reader(frame[:HEADER_SIZE])
        version = reader.u8()
        if version != PROTOCOL_VERSION:
            raise ProtocolError(ErrorCode.UNSUPPORTED_VERSION, f"version {version}")
        suite = suite_from_wire(reader.u8())
        header = cls(
            version=version,
            suite=suite,
            routing_id=reader.fixed(ROUTING_ID_SIZE),
            prekey_id=reader.fixed(PREKEY_ID_SIZE),
        )
        if len(frame) != frame_size(suite):
            raise MalformedError("frame has the wrong length for its suite")
        return header


@dataclass(frozen=True, slots=True)
class InnerMessage:
    """The signed content: every field a receiver decides on."""

    version: int
    suite: SuiteId
    lock_id: bytes
    sender_id: bytes
    recipient_id: bytes
    direction: Direction
    kind: MessageKind
    counter: int
    issued_at_ms: int
    not_after_ms: int
    request_id: bytes
    reply_to: bytes
    payload: bytes

    def to_bytes(self, capacity: int) -> bytes:
        """Encode with the payload zero-padded to ``capacity``."""
        if len(self.payload) > capacity:
            raise ProtocolError(
                ErrorCode.PAYLOAD_TOO_LARGE, f"{len(self.payload)} > {capacity}"
            )
        return (
            Writer()
            .u8(self.version)
            .u8(self.suite)
            .fixed(self.lock_id, LOCK_ID_SIZE)
            .fixed(self.sender_id, KEY_ID_SIZE)
            .fixed(self.recipient_id, KEY_ID_SIZE)
            .u8(self.direction)
            .u16(self.kind)
            .u64(self.counter)
            .u64(self.issued_at_ms)
            .u64(self.not_after_ms)
            .fixed(self.request_id, REQUEST_ID_SIZE)
            .fixed(self.reply_to, REPLY_HASH_SIZE)
            .u16(len(self.payload))
            .raw(self.payload)
            .raw(bytes(capacity - len(self.payload)))
            .finish()
        )

    @classmethod
    def parse(cls, data: bytes, capacity: int) -> InnerMessage:
        """Decode; the padding must be zero so the encoding is canonical."""
        reader = Reader(data)
        version = reader.u8()
        suite = suite_from_wire(reader.u8())
        lock_id = reader.fixed(LOCK_ID_SIZE)
        sender_id = reader.fixed(KEY_ID_SIZE)
        recipient_id = reader.fixed(KEY_ID_SIZE)
        direction = enum_from_wire(Direction, reader.u8())
        kind = kind_from_wire(reader.u16())
        counter, issued_at, not_after = reader.u64(), reader.u64(), reader.u64()
        request_id = reader.fixed(REQUEST_ID_SIZE)
        reply_to = reader.fixed(REPLY_HASH_SIZE)
        length = reader.u16()
        if length > capacity:
            raise MalformedError("payload length beyond capacity")
        payload = reader.fixed(length)
        # One comparison in C; any() would step through ~1,500 bytes per frame.
        padding = reader.fixed(capacity - length)
        if padding != bytes(len(padding)):
            raise MalformedError("non-zero padding")
        reader.done()
        return cls(
            version=version,
            suite=suite,
            lock_id=lock_id,
            sender_id=sender_id,
            recipient_id=recipient_id,
            direction=direction,
            kind=kind,
            counter=counter,
            issued_at_ms=issued_at,
            not_after_ms=not_after,
            request_id=request_id,
            reply_to=reply_to,
            payload=payload,
        )


def signature_input(header: bytes, enc: bytes, inner: bytes) -> bytes:
    """Return what the sender signs: label, clear header, HPKE ``enc``, inner bytes."""
    return _SIGNATURE_LABEL + header + enc + inner


def seal_frame(
    inner: InnerMessage,
    signer: IdentityPrivateKey,
    recipient_prekey: SignedPrekey,
    recipient_routing_id: bytes,
    rng: Rng,
) -> bytes:
    """Sign ``inner`` and encrypt it to ``recipient_prekey``; return the frame."""
    suite = inner.suite
    if recipient_prekey.suite is not suite:
        raise ProtocolError(
            ErrorCode.DOWNGRADE, "prekey suite differs from the session suite"
        )
    p = params(suite)
    header = OuterHeader(
        version=inner.version,
        suite=suite,
        routing_id=recipient_routing_id,
        prekey_id=recipient_prekey.prekey_id,
    ).to_bytes()
    content_key = rng(CONTENT_KEY_SIZE)
    wrapped = recipient_prekey.public_key.seal(content_key, _HPKE_INFO_LABEL + header)
    enc = wrapped[: p.enc_size]
    inner_bytes = inner.to_bytes(p.payload_capacity)
    body = inner_bytes + signer.sign(signature_input(header, enc, inner_bytes))
    ciphertext = ChaCha20Poly1305(content_key).encrypt(
        _ZERO_NONCE, body, header + wrapped
    )
    return header + wrapped + ciphertext


@dataclass(frozen=True, slots=True)
class OpenedFrame:
    """A decrypted frame whose signature is not yet checked (sender unknown so far)."""

    header: OuterHeader
    inner: InnerMessage
    signature: bytes
    signed_bytes: bytes


type PrekeyLookup = Callable[[SuiteId, bytes], Prekey | None]


def open_frame(
    frame: bytes, expected_routing_id: bytes, find_prekey: PrekeyLookup
) -> OpenedFrame:
    """Check structure, routing and prekey, then decrypt; never verifies the sender."""
    header = OuterHeader.parse(frame)
    if header.routing_id != expected_routing_id:
        raise ProtocolError(ErrorCode.WRONG_RECIPIENT, "routing id is not ours")
    prekey = find_prekey(header.suite, header.prekey_id)
    if prekey is None:
        raise ProtocolError(ErrorCode.UNKNOWN_PREKEY, "prekey unknown or erased")
    p = params(header.suite)
    header_bytes = frame[:HEADER_SIZE]
    wrapped_end = HEADER_SIZE + p.enc_size + WRAPPED_KEY_SIZE
    wrapped = bytes(frame[HEADER_SIZE:wrapped_end])
    content_key = prekey.private_key.open(wrapped, _HPKE_INFO_LABEL + header_bytes)
    if len(content_key) != CONTENT_KEY_SIZE:
        raise ProtocolError(ErrorCode.DECRYPT_FAILED)
    try:
        body = ChaCha20Poly1305(content_key).decrypt(
            _ZERO_NONCE, bytes(frame[wrapped_end:]), header_bytes + wrapped
        )
    except InvalidTag:
        raise ProtocolError(ErrorCode.DECRYPT_FAILED) from None
    inner_bytes, signature = body[:-SIGNATURE_SIZE], body[-SIGNATURE_SIZE:]
    inner = InnerMessage.parse(inner_bytes, p.payload_capacity)
    return OpenedFrame(
        header=header,
        inner=inner,
        signature=signature,
        signed_bytes=signature_input(header_bytes, wrapped[: p.enc_size], inner_bytes),
    )
