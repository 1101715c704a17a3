"""Lock and controller identities: identity key, rotating prekeys, storage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from .encoding import Reader, Writer
from .errors import ErrorCode, MalformedError, ProtocolError
from .kem import KemPrivateKey
from .keys import (
    ED25519_SIZE,
    KEY_ID_SIZE,
    SIGNATURE_SIZE,
    IdentityPrivateKey,
    Prekey,
    PublicKeyBundle,
    SignedPrekey,
    prekey_id,
)
from .rng import Rng, system_clock, system_rng
from .suites import SuiteId, params, suite_from_wire, supported_suites

LOCK_ID_SIZE = 16
DAY_MS = 86_400_000
HOUR_MS = 3_600_000

_LOCK_MAGIC = b"SLLK\x01"
_CONTROLLER_MAGIC = b"SLCT\x01"


@dataclass(frozen=True, slots=True)
class PrekeyPolicy:
    """How often prekeys rotate and how long retired private prekeys survive."""

    lifetime_ms: int = DAY_MS
    grace_ms: int = HOUR_MS


class _Identity:
    """Shared machinery: an Ed25519 identity plus per-suite rotating prekeys."""

    _magic = b""

    def __init__(
        self,
        signing_key: IdentityPrivateKey,
        prekeys: list[Prekey],
        policy: PrekeyPolicy,
    ) -> None:
        self.signing_key = signing_key
        self._prekeys = prekeys
        self.policy = policy

    @property
    def key_id(self) -> bytes:
        """The id of this identity's public key (the controller id for controllers)."""
        return self.signing_key.public_key.key_id

    @property
    def suites(self) -> tuple[SuiteId, ...]:
        """Suites this identity holds prekeys for, strongest first."""
        return tuple(sorted({p.signed.suite for p in self._prekeys}, reverse=True))

    @property
    def prekeys(self) -> tuple[Prekey, ...]:
        """All private prekeys still held (current and in grace)."""
        return tuple(self._prekeys)

    def current_prekey(self, suite: SuiteId) -> Prekey:
        """Return the newest prekey of ``suite``."""
        candidates = [p for p in self._prekeys if p.signed.suite is suite]
        if not candidates:
            raise ProtocolError(ErrorCode.UNSUPPORTED_SUITE, "no prekey for this suite")
        # On a tie (two rotations in one millisecond) the later one wins.
        return max(reversed(candidates), key=lambda p: p.signed.valid_from)

    def find_prekey(self, suite: SuiteId, prekey_id: bytes) -> Prekey | None:
        """Return the private prekey named in a header, if still held."""
        for prekey in self._prekeys:
            if prekey.signed.suite is suite and prekey.signed.prekey_id == prekey_id:
                return prekey
        return None

    def public_bundle(
        self, suites: tuple[SuiteId, ...] | None = None
    ) -> PublicKeyBundle:
        """Return the identity key with the newest signed prekey of each suite.

        Pass ``suites`` to keep a bundle small, e.g. only the suite of the lock
        it is sent to (a suite-1 frame cannot carry a hybrid public key).
        """
        chosen = (
            self.suites
            if suites is None
            else tuple(s for s in self.suites if s in suites)
        )
        return PublicKeyBundle(
            self.signing_key.public_key,
            tuple(self.current_prekey(suite).signed for suite in chosen),
        )

    def _new_prekey(self, suite: SuiteId, rng: Rng, now_ms: int) -> Prekey:
        private = KemPrivateKey.generate(suite, rng)
        signed = SignedPrekey.create(
            self.signing_key,
            private.public_key,
            now_ms,
            now_ms + self.policy.lifetime_ms + self.policy.grace_ms,
        )
        return Prekey(signed, private)

    def rotate_prekeys(self, rng: Rng, now_ms: int) -> tuple[SignedPrekey, ...]:
        """Make a new prekey per suite and return them for a signed announcement.

        Older private prekeys stay until :meth:`erase_expired_prekeys` removes
        them, so frames already in flight can still be opened.
        """
        fresh = [self._new_prekey(suite, rng, now_ms) for suite in self.suites]
        self._prekeys.extend(fresh)
        return tuple(p.signed for p in fresh)

    def erase_expired_prekeys(self, now_ms: int) -> int:
        """Forget private prekeys past their validity (never the newest); return count.

        This is what gives forward secrecy: once erased, frames sealed to the
        prekey can no longer be opened by anyone.
        """
        newest = {id(self.current_prekey(suite)) for suite in self.suites}
        keep = [
            p for p in self._prekeys if id(p) in newest or now_ms < p.signed.valid_until
        ]
        erased = len(self._prekeys) - len(keep)
        self._prekeys = keep
        return erased

    def _encode_common(self, writer: Writer) -> Writer:
        writer.fixed(self.signing_key.private_bytes(), ED25519_SIZE)
        writer.u64(self.policy.lifetime_ms).u64(self.policy.grace_ms)
        writer.u8(len(self._prekeys))
        for prekey in self._prekeys:
            writer.u8(prekey.signed.suite).raw(prekey.private_key.private_bytes())
            writer.u64(prekey.signed.valid_from).u64(prekey.signed.valid_until)
            writer.raw(prekey.signed.signature)
        return writer

    @staticmethod
    def _decode_common(
        reader: Reader,
    ) -> tuple[IdentityPrivateKey, list[Prekey], PrekeyPolicy]:
        signing_key = IdentityPrivateKey(reader.fixed(ED25519_SIZE))
        policy = PrekeyPolicy(reader.u64(), reader.u64())
        prekeys: list[Prekey] = []
        for _ in range(reader.u8()):
            suite = suite_from_wire(reader.u8())
            private = KemPrivateKey(suite, reader.fixed(params(suite).kem_private_size))
            valid_from, valid_until = reader.u64(), reader.u64()
            signed = SignedPrekey(
                owner_id=signing_key.public_key.key_id,
                suite=suite,
                prekey_id=prekey_id(suite, private.public_key.raw),
                public_key=private.public_key,
                valid_from=valid_from,
                valid_until=valid_until,
                signature=reader.fixed(SIGNATURE_SIZE),
            )
            signed.verify(signing_key.public_key)
            prekeys.append(Prekey(signed, private))
        if not prekeys:
            raise MalformedError("identity without prekeys")
        return signing_key, prekeys, policy

    def __repr__(self) -> str:
        """Show public ids only; private keys never appear."""
        return f"{type(self).__name__}(key_id={self.key_id.hex()}, suites={[s.name for s in self.suites]})"

    __str__ = __repr__


def _initial_prekeys(
    signing_key: IdentityPrivateKey,
    suites: tuple[SuiteId, ...],
    rng: Rng,
    now_ms: int,
    policy: PrekeyPolicy,
) -> list[Prekey]:
    if not suites:
        raise ProtocolError(
            ErrorCode.INVALID_ARGUMENT, "at least one suite is required"
        )
    prekeys = []
    for suite in suites:
        private = KemPrivateKey.generate(suite, rng)
        signed = SignedPrekey.create(
            signing_key,
            private.public_key,
            now_ms,
            now_ms + policy.lifetime_ms + policy.grace_ms,
        )
        prekeys.append(Prekey(signed, private))
    return prekeys


class ControllerIdentity(_Identity):
    """A controller (one per config entry or CLI client), generated locally."""

    @classmethod
    def generate(
        cls,
        rng: Rng = system_rng,
        *,
        now_ms: int | None = None,
        suites: tuple[SuiteId, ...] | None = None,
        policy: PrekeyPolicy | None = None,
    ) -> Self:
        """Create a new identity with one prekey per supported suite."""
        policy = policy or PrekeyPolicy()
        now_ms = system_clock() if now_ms is None else now_ms
        signing_key = IdentityPrivateKey.generate(rng)
        prekeys = _initial_prekeys(
            signing_key, suites or supported_suites(), rng, now_ms, policy
        )
        return cls(signing_key, prekeys, policy)

    def to_bytes(self) -> bytes:
        """Serialize for storage; the result contains private keys."""
        return self._encode_common(Writer().raw(_CONTROLLER_MAGIC)).finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Load an identity stored with :meth:`to_bytes`."""
        reader = Reader(data)
        if reader.fixed(len(_CONTROLLER_MAGIC)) != _CONTROLLER_MAGIC:
            raise MalformedError("not a controller identity")
        signing_key, prekeys, policy = cls._decode_common(reader)
        reader.done()
        return cls(signing_key, prekeys, policy)


class LockIdentity(_Identity):
    """A lock: random 128-bit lock id, identity key and prekeys."""

    def __init__(
        self,
        lock_id: bytes,
        signing_key: IdentityPrivateKey,
        prekeys: list[Prekey],
        policy: PrekeyPolicy,
    ) -> None:
        """Assemble a lock identity from its parts."""
        if len(lock_id) != LOCK_ID_SIZE:
            raise MalformedError("lock id must be 16 bytes")
        super().__init__(signing_key, prekeys, policy)
        self.lock_id = bytes(lock_id)

    @classmethod
    def generate(
        cls,
        rng: Rng = system_rng,
        *,
        now_ms: int | None = None,
        suites: tuple[SuiteId, ...] | None = None,
        policy: PrekeyPolicy | None = None,
    ) -> Self:
        """Create a lock identity; the lock id is random, never from serial or MAC."""
        policy = policy or PrekeyPolicy()
        now_ms = system_clock() if now_ms is None else now_ms
        lock_id = rng(LOCK_ID_SIZE)
        signing_key = IdentityPrivateKey.generate(rng)
        prekeys = _initial_prekeys(
            signing_key, suites or supported_suites(), rng, now_ms, policy
        )
        return cls(lock_id, signing_key, prekeys, policy)

    @property
    def fingerprint(self) -> bytes:
        """The identity-key fingerprint printed in the setup payload."""
        return self.key_id

    def to_bytes(self) -> bytes:
        """Serialize for storage; the result contains private keys."""
        writer = Writer().raw(_LOCK_MAGIC).fixed(self.lock_id, LOCK_ID_SIZE)
        return self._encode_common(writer).finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Load an identity stored with :meth:`to_bytes`."""
        reader = Reader(data)
        if reader.fixed(len(_LOCK_MAGIC)) != _LOCK_MAGIC:
            raise MalformedError("not a lock identity")
        lock_id = reader.fixed(LOCK_ID_SIZE)
        signing_key, prekeys, policy = cls._decode_common(reader)
        reader.done()
        return cls(lock_id, signing_key, prekeys, policy)

    def __repr__(self) -> str:
        """Show public ids only; private keys never appear."""
        return (
            f"LockIdentity(lock_id={self.lock_id.hex()}, key_id={self.key_id.hex()}, "
            f"suites={[s.name for s in self.suites]})"
        )

    __str__ = __repr__


__all__ = ["KEY_ID_SIZE", "ControllerIdentity", "LockIdentity", "PrekeyPolicy"]
