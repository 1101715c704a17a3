"""The command-line controller's profile file, safe to share between processes.

A profile holds this controller's identity (private keys: the file is 0600),
the paired lock's record and how to reach it.  Several `client` processes may
use one profile at once (`events` in one terminal, `lock` in another): every
write happens under an exclusive `fcntl` lock on a sidecar lock file, merges
with what the file holds by then (counters only move forward, the newest
prekeys win), and replaces the file atomically from a uniquely named
temporary file in the same directory.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
from dataclasses import dataclass, replace
import fcntl
import json
import os
from pathlib import Path
import tempfile
from typing import Any

from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    PairedLock,
    ProtocolError,
    PublicKeyBundle,
)

PROFILE_VERSION = 1


@dataclass(slots=True)
class Connection:
    """How this controller reaches its lock."""

    lan_url: str | None = None
    broker_url: str | None = None
    broker_ca: str | None = None
    username: str | None = None
    password: str | None = None
    lock_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "lan_url": self.lan_url,
            "broker_url": self.broker_url,
            "broker_ca": self.broker_ca,
            "username": self.username,
            "password": self.password,
            "lock_id": self.lock_id,
        }


def _newest_prekey(bundle: PublicKeyBundle) -> int:
    return max((p.valid_from for p in bundle.prekeys), default=0)


@contextlib.contextmanager
def profile_lock(path: Path) -> Iterator[None]:
    """Hold the profile's exclusive lock (a sidecar file; the profile itself is replaced)."""
    lock_path = path.with_name(f".{path.name}.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@dataclass(slots=True)
class Profile:
    """A controller identity, its paired lock and how to reach it."""

    identity: ControllerIdentity
    connection: Connection
    lock: PairedLock | None = None

    @classmethod
    def load(cls, path: Path) -> Profile:
        """Read a profile; a missing or damaged file raises ValueError."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data["version"] != PROFILE_VERSION:
                raise ValueError("unsupported profile version")
            return cls(
                ControllerIdentity.from_bytes(bytes.fromhex(data["identity"])),
                Connection(**data["connection"]),
                PairedLock.from_bytes(bytes.fromhex(data["lock"]))
                if data["lock"]
                else None,
            )
        except FileNotFoundError:
            raise ValueError(f"no profile at {path}; pair first") from None
        except IsADirectoryError:
            raise ValueError(f"the profile {path} is a directory") from None
        except (KeyError, TypeError, ProtocolError, json.JSONDecodeError) as err:
            raise ValueError(
                f"profile {path} is damaged ({type(err).__name__})"
            ) from None

    def save(self, path: Path, *, replace_existing: bool = False) -> None:
        """Merge with the file under the profile lock, then replace it atomically.

        `replace_existing` (a new pairing) writes this profile as it is.
        Otherwise the file's counters and newer keys are kept, so two
        processes never undo each other's progress, and a profile that was
        paired again meanwhile (another controller) is not overwritten.
        """
        with profile_lock(path):
            if not replace_existing and path.exists():
                self._merge(Profile.load(path), path)
            self._write(path)

    def _merge(self, stored: Profile, path: Path) -> None:
        """Move this profile forward to whatever `stored` already has."""
        ours = self.identity.public_bundle()
        theirs = stored.identity.public_bundle()
        if ours.key_id != theirs.key_id:
            raise ValueError(
                f"{path} was paired again by another process; not overwriting it"
            )
        if _newest_prekey(theirs) > _newest_prekey(ours):
            self.identity = stored.identity
        if self.lock is None or stored.lock is None:
            self.lock = self.lock or stored.lock
            return
        bundle = self.lock.bundle
        if _newest_prekey(stored.lock.bundle) > _newest_prekey(bundle):
            bundle = stored.lock.bundle
        self.lock = replace(
            self.lock,
            bundle=bundle,
            last_sent_counter=max(
                self.lock.last_sent_counter, stored.lock.last_sent_counter
            ),
            lock_high_water=max(self.lock.lock_high_water, stored.lock.lock_high_water),
        )

    def _write(self, path: Path) -> None:
        data = {
            "version": PROFILE_VERSION,
            "identity": self.identity.to_bytes().hex(),
            "connection": self.connection.to_json(),
            "lock": self.lock.to_bytes().hex() if self.lock else None,
        }
        # mkstemp: a unique name, created 0600, in the same directory so that
        # os.replace is an atomic rename.
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        temp = Path(name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
                handle.flush()
                os.fsync(handle.fileno())
            temp.replace(path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise
