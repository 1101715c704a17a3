"""Firmware releases offered from a folder on the Home Assistant host.

The folder is either one release directory (``manifest.slfw``, ``image.bin``,
as ``python -m device_sim firmware release`` writes it) or a folder whose
sub-directories are release directories.  Only manifests that verify under the
configured release public key, and name this lock's model, become candidates;
everything else is reported as rejected so the user learns the folder holds
something that must not be installed.  The lock verifies again before it
installs: this is the first of two checks, not a replacement.

Everything here is blocking file I/O plus signature checks: run it in the
executor.  Nothing here imports Home Assistant.
"""

from __future__ import annotations

from dataclasses import dataclass
import os
from pathlib import Path

from .controller.firmware import MANIFEST_FILE, FirmwareRelease, load_release
from .protocol import (
    ErrorCode,
    FirmwareError,
    FirmwareVersion,
    ProtocolError,
    SecureLockError,
)
from .protocol.firmware import (
    MAX_SIGNED_MANIFEST_SIZE,
    FirmwareManifest,
    ReleasePublicKey,
    VerifiedManifest,
    check_update,
    verify_manifest,
)

UNREADABLE = "unreadable"
"""Reject reason for a manifest file that cannot be read (not an `ErrorCode`)."""


class ReleaseFolderError(Exception):
    """The configured release folder cannot be listed; ``reason`` is a stable key."""

    def __init__(self, reason: str) -> None:
        """Keep the reason (``not_a_folder`` or ``unreadable``)."""
        super().__init__(reason)
        self.reason = reason


class ReleaseChanged(SecureLockError):
    """The release on disk is no longer the one that was verified and offered."""


class ReleaseUnreadable(SecureLockError):
    """The offered release's files cannot be read or do not verify; ``code`` says why."""

    def __init__(self, code: ErrorCode) -> None:
        """Keep the protocol's stable code."""
        super().__init__(f"release unreadable: {code.value}")
        self.code = code


@dataclass(frozen=True, slots=True)
class ReleaseCandidate:
    """A release whose manifest verified under the release key, for this model."""

    directory: Path
    verified: VerifiedManifest

    @property
    def manifest(self) -> FirmwareManifest:
        """Return the verified manifest."""
        return self.verified.manifest

    @property
    def version(self) -> FirmwareVersion:
        """Return the release's version."""
        return self.verified.manifest.version

    @property
    def transfer_id(self) -> bytes:
        """Return the transfer id (names this exact manifest)."""
        return self.verified.transfer_id


@dataclass(frozen=True, slots=True)
class RejectedRelease:
    """A release directory that is never offered, and why (an `ErrorCode` value)."""

    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class ReleaseScan:
    """What one look at the folder found."""

    candidates: tuple[ReleaseCandidate, ...] = ()
    """Verified releases for this model, newest first."""
    rejected: tuple[RejectedRelease, ...] = ()


def release_directories(folder: Path) -> list[Path]:
    """Return the release directories in ``folder`` (the folder itself if it is one)."""
    if not folder.is_dir():
        raise ReleaseFolderError("not_a_folder")
    if (folder / MANIFEST_FILE).is_file():
        return [folder]
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        raise ReleaseFolderError(UNREADABLE) from None
    return [entry for entry in entries if (entry / MANIFEST_FILE).is_file()]


def read_manifest(directory: Path) -> bytes:
    """Read a release's signed manifest, never more than an envelope can be."""
    # A bounded read: a huge file dropped into the folder costs nothing.
    with (directory / MANIFEST_FILE).open("rb") as file:
        data = file.read(MAX_SIGNED_MANIFEST_SIZE + 1)
    if len(data) > MAX_SIGNED_MANIFEST_SIZE:
        raise ProtocolError(ErrorCode.MALFORMED, "manifest too large")
    return data


def verify_directory(
    directory: Path, key: ReleasePublicKey, model: str | None
) -> ReleaseCandidate:
    """Verify one release directory's manifest; raise `ProtocolError` or `OSError`.

    ``model`` None means the lock's model is not known here; the lock still
    refuses a release for another model when it is offered.
    """
    verified = verify_manifest(read_manifest(directory), key)
    if model is not None and verified.manifest.model != model:
        raise FirmwareError(
            ErrorCode.FIRMWARE_WRONG_MODEL, "release is for another model"
        )
    return ReleaseCandidate(directory, verified)


def scan_releases(
    folder: Path, key: ReleasePublicKey, model: str | None
) -> ReleaseScan:
    """Verify every release in ``folder``; return the good ones and the rejected ones."""
    candidates: list[ReleaseCandidate] = []
    rejected: list[RejectedRelease] = []
    for directory in release_directories(folder):
        try:
            candidates.append(verify_directory(directory, key, model))
        except ProtocolError as err:
            rejected.append(RejectedRelease(directory.name, err.code.value))
        except OSError:
            rejected.append(RejectedRelease(directory.name, UNREADABLE))
    candidates.sort(key=lambda candidate: candidate.version, reverse=True)
    return ReleaseScan(tuple(candidates), tuple(rejected))


def pick_release(
    candidates: tuple[ReleaseCandidate, ...],
    *,
    running: FirmwareVersion,
    security_floor: int | None,
) -> ReleaseCandidate | None:
    """Return the newest candidate the lock's policy allows over ``running``.

    A newer release that needs a newer base than ``running`` is passed over
    for an older one that can be installed now (the step towards it).  An
    unknown floor (the lock was not asked) lets the lock decide on rollback.
    """
    for candidate in candidates:
        try:
            check_update(
                candidate.verified,
                model=candidate.manifest.model,
                running=running,
                min_security_version=security_floor or 0,
            )
        except FirmwareError:
            continue
        return candidate
    return None


def load_candidate(
    candidate: ReleaseCandidate, key: ReleasePublicKey
) -> FirmwareRelease:
    """Read the candidate's manifest and image for installing, verified again.

    The files may have changed since the scan: the manifest read now must
    verify and be the very one offered, and the image must match it.
    Raises `ReleaseChanged`, or `ReleaseUnreadable` (image hash, unreadable files).
    """
    try:
        release = load_release(candidate.directory)
        verified = verify_manifest(release.signed_manifest, key)
    except ProtocolError as err:
        raise ReleaseUnreadable(err.code) from err
    if verified.transfer_id != candidate.transfer_id:
        raise ReleaseChanged
    return release


def folder_problem(folder: str) -> str | None:
    """Return an error key if ``folder`` cannot be a release folder, else None."""
    path = Path(folder)
    if not path.is_absolute():
        return "release_folder_not_absolute"
    if not path.is_dir() or not os.access(path, os.R_OK | os.X_OK):
        return "release_folder_not_found"
    return None
