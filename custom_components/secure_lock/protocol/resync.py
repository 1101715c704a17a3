"""Resynchronisation notice: the lock's current signed prekeys, sent in the clear.

A lock that receives a frame sealed to a prekey it no longer holds cannot tell
who sent it (the sender is inside the ciphertext).  It answers, at most once
per ``RESYNC_MIN_INTERVAL_S``, with this notice on its own link channel.  The
notice holds only public data: the lock id and the lock's current signed
prekeys, signed as a whole by the lock's identity key.  The lock signs it once
per rotation and caches it, so answering junk costs neither a signature nor a
write.

A controller takes a prekey from a notice only if the notice and the prekey
verify under the identity key it pinned at pairing, the prekey is for the
pairing suite, newer than the one it holds, and not expired on its estimate
of the lock's clock.  A replayed old notice therefore changes nothing, and a
forged one fails its signature.
"""

from __future__ import annotations

from dataclasses import dataclass

from .encoding import Reader, Writer
from .errors import ErrorCode, MalformedError, ProtocolError
from .identity import LOCK_ID_SIZE
from .keys import SIGNATURE_SIZE, IdentityPrivateKey, IdentityPublicKey, SignedPrekey
from .registry import PairedLock

RESYNC_VERSION = 1
MAX_NOTICE_PREKEYS = 4
RESYNC_MIN_INTERVAL_S = 5.0
"""The lock sends at most one notice per 5 s, whatever it receives."""

_LABEL = b"secure-lock/v1/resync\x00"


def _body(lock_id: bytes, prekeys: tuple[SignedPrekey, ...]) -> bytes:
    writer = Writer().u8(RESYNC_VERSION).fixed(lock_id, LOCK_ID_SIZE)
    writer.u8(len(prekeys))
    for prekey in prekeys:
        prekey.encode(writer)
    return writer.finish()


@dataclass(frozen=True, slots=True)
class ResyncNotice:
    """``version(1) | lock_id(16) | n(1) | SignedPrekey* | signature(64)``."""

    lock_id: bytes
    prekeys: tuple[SignedPrekey, ...]
    signature: bytes

    @classmethod
    def create(
        cls,
        lock_id: bytes,
        signer: IdentityPrivateKey,
        prekeys: tuple[SignedPrekey, ...],
    ) -> ResyncNotice:
        """Sign the lock's current prekeys (Ed25519 is deterministic)."""
        if not 0 < len(prekeys) <= MAX_NOTICE_PREKEYS:
            raise ProtocolError(ErrorCode.INVALID_ARGUMENT, "1 to 4 prekeys")
        return cls(lock_id, prekeys, signer.sign(_LABEL + _body(lock_id, prekeys)))

    def to_bytes(self) -> bytes:
        """Return the wire encoding (the link channel byte is added by the caller)."""
        return _body(self.lock_id, self.prekeys) + self.signature

    @classmethod
    def parse(cls, data: bytes) -> ResyncNotice:
        """Decode structure only; raise ``MalformedError`` on any defect."""
        reader = Reader(data)
        if reader.u8() != RESYNC_VERSION:
            raise ProtocolError(ErrorCode.UNSUPPORTED_VERSION, "resync version")
        lock_id = reader.fixed(LOCK_ID_SIZE)
        count = reader.u8()
        if not 0 < count <= MAX_NOTICE_PREKEYS:
            raise MalformedError("resync notice prekey count")
        prekeys = tuple(SignedPrekey.decode(reader) for _ in range(count))
        signature = reader.fixed(SIGNATURE_SIZE)
        reader.done()
        return cls(lock_id, prekeys, signature)

    def verify(self, identity: IdentityPublicKey) -> None:
        """Raise unless the notice and every prekey in it are signed by ``identity``."""
        identity.verify(self.signature, _LABEL + _body(self.lock_id, self.prekeys))
        for prekey in self.prekeys:
            prekey.verify(identity)


def accept_lock_prekey(
    lock: PairedLock, data: bytes, lock_now_ms: int
) -> SignedPrekey | None:
    """Return the prekey a controller should switch to, or None if nothing is new.

    Raises ``ProtocolError`` for a notice that is malformed, for another lock,
    not signed by the pinned identity key, or whose prekey has expired.
    Nothing is changed here; the caller applies and persists the result.
    """
    notice = ResyncNotice.parse(data)
    if notice.lock_id != lock.lock_id:
        raise ProtocolError(ErrorCode.WRONG_RECIPIENT, "notice from another lock")
    notice.verify(lock.bundle.identity)
    candidates = [p for p in notice.prekeys if p.suite is lock.suite]
    if not candidates:
        raise ProtocolError(ErrorCode.UNSUPPORTED_SUITE, "no prekey for our suite")
    prekey = max(candidates, key=lambda p: p.valid_from)
    held = lock.bundle.prekey_for(lock.suite)
    if held is not None and prekey.valid_from <= held.valid_from:
        return None
    if lock_now_ms >= prekey.valid_until:
        raise ProtocolError(ErrorCode.EXPIRED, "notice prekey has expired")
    return prekey


__all__ = [
    "MAX_NOTICE_PREKEYS",
    "RESYNC_MIN_INTERVAL_S",
    "ResyncNotice",
    "accept_lock_prekey",
]
