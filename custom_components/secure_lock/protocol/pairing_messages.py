"""Pairing wire messages: hello, challenge, proof, result (canonical binary)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Self

from .encoding import Reader, Writer
from .errors import ErrorCode, MalformedError, ProtocolError
from .identity import LOCK_ID_SIZE
from .keys import (
    ED25519_SIZE,
    KEY_ID_SIZE,
    SIGNATURE_SIZE,
    IdentityPublicKey,
    SignedPrekey,
)
from .roles import Role
from .spake2plus import CONFIRMATION_SIZE, POINT_SIZE
from .state import enum_from_wire
from .suites import SuiteId, suite_from_wire

PAIRING_VERSION = 2
NONCE_SIZE = 32
MAC_SIZE = 32
MAX_SUITES = 8
NAME_FIELD_SIZE = 1 + 64
"""A name padded to a fixed size (length byte plus up to 64 UTF-8 bytes)."""
SEALED_NAME_SIZE = NAME_FIELD_SIZE + 16
"""The padded name under ChaCha20-Poly1305 (16-byte tag)."""


class PairingMessageType(IntEnum):
    """First byte of every pairing message."""

    HELLO = 1
    CHALLENGE = 2
    PROOF = 3
    RESULT = 4
    DISCOVERY_PROBE = 5
    DISCOVERY_ANSWER = 6


def _write_suites(writer: Writer, suites: tuple[SuiteId, ...]) -> Writer:
    return writer.bytes8(bytes(suites))


def _read_suites(reader: Reader) -> tuple[SuiteId, ...]:
    raw = reader.bytes8()
    if not raw or len(raw) > MAX_SUITES or len(set(raw)) != len(raw):
        raise MalformedError("bad suite list")
    # Unknown suites are kept out rather than rejected, for future versions.
    return tuple(SuiteId(b) for b in raw if b in SuiteId._value2member_map_)


def _start(reader: Reader, expected: PairingMessageType) -> None:
    kind = reader.u8()
    if kind != expected:
        raise ProtocolError(ErrorCode.UNEXPECTED_MESSAGE, f"expected {expected.name}")
    version = reader.u8()
    if version != PAIRING_VERSION:
        raise ProtocolError(ErrorCode.UNSUPPORTED_VERSION, f"pairing version {version}")


def _header(kind: PairingMessageType) -> Writer:
    return Writer().u8(kind).u8(PAIRING_VERSION)


@dataclass(frozen=True, slots=True)
class PairingHello:
    """Controller → lock: its identity key, offered suites, fresh nonce.

    The controller's name is not here: it travels sealed in the proof, so a
    relay never reads it.
    """

    lock_id: bytes
    """All zeros when the controller does not know it yet (a typed code)."""
    discriminator: int
    """Which of the lock's codes the controller holds (the label's, or an invitation's)."""
    controller_key: IdentityPublicKey
    offered_suites: tuple[SuiteId, ...]
    nonce: bytes

    def to_bytes(self) -> bytes:
        """Return the canonical encoding."""
        writer = (
            _header(PairingMessageType.HELLO)
            .fixed(self.lock_id, LOCK_ID_SIZE)
            .u8(self.discriminator)
            .fixed(self.controller_key.raw, ED25519_SIZE)
        )
        return (
            _write_suites(writer, self.offered_suites)
            .fixed(self.nonce, NONCE_SIZE)
            .finish()
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Parse or raise a ``ProtocolError``."""
        reader = Reader(data)
        _start(reader, PairingMessageType.HELLO)
        lock_id = reader.fixed(LOCK_ID_SIZE)
        discriminator = reader.u8()
        key = IdentityPublicKey(reader.fixed(ED25519_SIZE))
        suites = _read_suites(reader)
        nonce = reader.fixed(NONCE_SIZE)
        reader.done()
        return cls(
            lock_id=lock_id,
            discriminator=discriminator,
            controller_key=key,
            offered_suites=suites,
            nonce=nonce,
        )


@dataclass(frozen=True, slots=True)
class PairingChallenge:
    """Lock → controller: its keys, chosen suite, nonces, signature over the transcript."""

    lock_id: bytes
    lock_key: IdentityPublicKey
    lock_suites: tuple[SuiteId, ...]
    seen_controller_suites: tuple[SuiteId, ...]
    chosen_suite: SuiteId
    lock_prekey: SignedPrekey
    certificate_chain: tuple[bytes, ...]
    controller_nonce: bytes
    lock_nonce: bytes
    pake_share: bytes
    """SPAKE2+ ``shareP`` (the lock is the prover)."""
    signature: bytes

    def body(self) -> bytes:
        """Return everything the signature covers (besides the hello)."""
        writer = (
            _header(PairingMessageType.CHALLENGE)
            .fixed(self.lock_id, LOCK_ID_SIZE)
            .fixed(self.lock_key.raw, ED25519_SIZE)
        )
        _write_suites(writer, self.lock_suites)
        _write_suites(writer, self.seen_controller_suites)
        writer.u8(self.chosen_suite)
        self.lock_prekey.encode(writer)
        writer.u8(len(self.certificate_chain))
        for cert in self.certificate_chain:
            writer.bytes16(cert)
        return (
            writer.fixed(self.controller_nonce, NONCE_SIZE)
            .fixed(self.lock_nonce, NONCE_SIZE)
            .fixed(self.pake_share, POINT_SIZE)
            .finish()
        )

    def to_bytes(self) -> bytes:
        """Return the canonical encoding."""
        return self.body() + self.signature

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Parse or raise a ``ProtocolError`` (signatures are checked later)."""
        reader = Reader(data)
        _start(reader, PairingMessageType.CHALLENGE)
        lock_id = reader.fixed(LOCK_ID_SIZE)
        lock_key = IdentityPublicKey(reader.fixed(ED25519_SIZE))
        lock_suites = _read_suites(reader)
        seen = _read_suites(reader)
        chosen = suite_from_wire(reader.u8())
        prekey = SignedPrekey.decode(reader)
        chain = tuple(reader.bytes16() for _ in range(reader.u8()))
        controller_nonce = reader.fixed(NONCE_SIZE)
        lock_nonce = reader.fixed(NONCE_SIZE)
        pake_share = reader.fixed(POINT_SIZE)
        signature = reader.fixed(SIGNATURE_SIZE)
        reader.done()
        return cls(
            lock_id=lock_id,
            lock_key=lock_key,
            lock_suites=lock_suites,
            seen_controller_suites=seen,
            chosen_suite=chosen,
            lock_prekey=prekey,
            certificate_chain=chain,
            controller_nonce=controller_nonce,
            lock_nonce=lock_nonce,
            pake_share=pake_share,
            signature=signature,
        )


@dataclass(frozen=True, slots=True)
class PairingProof:
    """Controller → lock: its PAKE share and confirmation, prekey, sealed name, signature, MAC."""

    lock_nonce: bytes
    pake_share: bytes
    """SPAKE2+ ``shareV`` (the controller is the verifier)."""
    pake_confirmation: bytes
    """SPAKE2+ ``confirmV``."""
    controller_prekey: SignedPrekey
    sealed_name: bytes
    signature: bytes
    mac: bytes

    def body(self) -> bytes:
        """Return the signed part."""
        writer = (
            _header(PairingMessageType.PROOF)
            .fixed(self.lock_nonce, NONCE_SIZE)
            .fixed(self.pake_share, POINT_SIZE)
            .fixed(self.pake_confirmation, CONFIRMATION_SIZE)
        )
        self.controller_prekey.encode(writer)
        return writer.fixed(self.sealed_name, SEALED_NAME_SIZE).finish()

    def to_bytes(self) -> bytes:
        """Return the canonical encoding."""
        return self.body() + self.signature + self.mac

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Parse or raise a ``ProtocolError``."""
        reader = Reader(data)
        _start(reader, PairingMessageType.PROOF)
        lock_nonce = reader.fixed(NONCE_SIZE)
        pake_share = reader.fixed(POINT_SIZE)
        pake_confirmation = reader.fixed(CONFIRMATION_SIZE)
        prekey = SignedPrekey.decode(reader)
        sealed_name = reader.fixed(SEALED_NAME_SIZE)
        signature = reader.fixed(SIGNATURE_SIZE)
        mac = reader.fixed(MAC_SIZE)
        reader.done()
        return cls(
            lock_nonce=lock_nonce,
            pake_share=pake_share,
            pake_confirmation=pake_confirmation,
            controller_prekey=prekey,
            sealed_name=sealed_name,
            signature=signature,
            mac=mac,
        )


@dataclass(frozen=True, slots=True)
class PairingResult:
    """Lock → controller: its PAKE confirmation, granted role and ids, signed, plus a MAC."""

    controller_nonce: bytes
    pake_confirmation: bytes
    """SPAKE2+ ``confirmP``: the lock knew the code's ``w0`` and ``w1``."""
    controller_id: bytes
    role: Role
    lock_time_ms: int
    signature: bytes
    mac: bytes

    def body(self) -> bytes:
        """Return the signed part."""
        return (
            _header(PairingMessageType.RESULT)
            .fixed(self.controller_nonce, NONCE_SIZE)
            .fixed(self.pake_confirmation, CONFIRMATION_SIZE)
            .fixed(self.controller_id, KEY_ID_SIZE)
            .u8(self.role)
            .u64(self.lock_time_ms)
            .finish()
        )

    def to_bytes(self) -> bytes:
        """Return the canonical encoding."""
        return self.body() + self.signature + self.mac

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Parse or raise a ``ProtocolError``."""
        reader = Reader(data)
        _start(reader, PairingMessageType.RESULT)
        nonce = reader.fixed(NONCE_SIZE)
        pake_confirmation = reader.fixed(CONFIRMATION_SIZE)
        controller_id = reader.fixed(KEY_ID_SIZE)
        role = enum_from_wire(Role, reader.u8())
        lock_time = reader.u64()
        signature = reader.fixed(SIGNATURE_SIZE)
        mac = reader.fixed(MAC_SIZE)
        reader.done()
        return cls(
            controller_nonce=nonce,
            pake_confirmation=pake_confirmation,
            controller_id=controller_id,
            role=role,
            lock_time_ms=lock_time,
            signature=signature,
            mac=mac,
        )


DISCOVERY_NONCE_SIZE = 16
MAX_REPLY_ACCOUNT = 64


@dataclass(frozen=True, slots=True)
class DiscoveryProbe:
    """Controller → every lock on the relay: which of you has an open code with this discriminator.

    Unauthenticated, and carries nothing secret: the discriminator is six
    bits of the code that say nothing about its passcode.  ``reply_to`` is
    the prober's broker account, whose answer topic only it can read.
    """

    discriminator: int
    nonce: bytes
    reply_to: str

    def to_bytes(self) -> bytes:
        """Return the canonical encoding."""
        return (
            _header(PairingMessageType.DISCOVERY_PROBE)
            .u8(self.discriminator)
            .fixed(self.nonce, DISCOVERY_NONCE_SIZE)
            .bytes8(self.reply_to.encode("ascii"))
            .finish()
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Parse or raise a ``ProtocolError``."""
        reader = Reader(data)
        _start(reader, PairingMessageType.DISCOVERY_PROBE)
        discriminator = reader.u8()
        nonce = reader.fixed(DISCOVERY_NONCE_SIZE)
        raw = reader.bytes8()
        reader.done()
        if discriminator >= 64 or not raw or len(raw) > MAX_REPLY_ACCOUNT:
            raise MalformedError("bad discovery probe")
        try:
            reply_to = raw.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedError("bad reply account") from None
        return cls(discriminator, nonce, reply_to)


@dataclass(frozen=True, slots=True)
class DiscoveryAnswer:
    """Lock → the prober: my id, and I have an open code with your discriminator."""

    nonce: bytes
    lock_id: bytes

    def to_bytes(self) -> bytes:
        """Return the canonical encoding."""
        return (
            _header(PairingMessageType.DISCOVERY_ANSWER)
            .fixed(self.nonce, DISCOVERY_NONCE_SIZE)
            .fixed(self.lock_id, LOCK_ID_SIZE)
            .finish()
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Parse or raise a ``ProtocolError``."""
        reader = Reader(data)
        _start(reader, PairingMessageType.DISCOVERY_ANSWER)
        nonce = reader.fixed(DISCOVERY_NONCE_SIZE)
        lock_id = reader.fixed(LOCK_ID_SIZE)
        reader.done()
        return cls(nonce, lock_id)
