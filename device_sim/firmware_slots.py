"""The simulated lock's A/B image slots on disk, written crash-safely.

Each slot is one file, ``slot-a.img`` or ``slot-b.img``.  An update is only
ever written into the slot that is *not* running, so the running image is
never touched.  Every write is fsync'ed before the caller records its new
length in the sealed state: after a crash the state never claims more bytes
than the file durably holds (the file may hold more; those are overwritten).
Images are not secret (anyone can download a release), so they are not
sealed; their integrity comes from the signed manifest's SHA-256, which is
checked before install and again by the self-check after the reboot.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from custom_components.secure_lock.protocol.messages import FirmwareSlot

_READ_BLOCK = 64 * 1024


class SlotIOError(Exception):
    """The file system refused a slot read or write."""


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SlotStore:
    """Image files for slots A and B in one directory (0700)."""

    def __init__(self, directory: Path) -> None:
        """Use ``directory``, creating it if needed."""
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path(self, slot: FirmwareSlot) -> Path:
        """Return the file of ``slot``."""
        return self.directory / f"slot-{slot.name.lower()}.img"

    def begin(self, slot: FirmwareSlot) -> None:
        """Empty ``slot`` durably before a new transfer is recorded."""
        try:
            fd = os.open(self.path(slot), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            _fsync_directory(self.directory)
        except OSError as err:
            raise SlotIOError(
                f"cannot prepare slot {slot.name}: {err.strerror}"
            ) from None

    def write_at(self, slot: FirmwareSlot, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset`` and fsync before returning."""
        try:
            fd = os.open(self.path(slot), os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                view = memoryview(data)
                position = offset
                while view:
                    written = os.pwrite(fd, view, position)
                    view, position = view[written:], position + written
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as err:
            raise SlotIOError(
                f"cannot write slot {slot.name}: {err.strerror}"
            ) from None

    def digest(self, slot: FirmwareSlot, size: int) -> tuple[bytes, int]:
        """Return SHA-256 of the first ``size`` bytes and how many bytes there were."""
        hasher = hashlib.sha256()
        read = 0
        try:
            with self.path(slot).open("rb") as handle:
                while read < size:
                    block = handle.read(min(_READ_BLOCK, size - read))
                    if not block:
                        break
                    hasher.update(block)
                    read += len(block)
        except FileNotFoundError:
            return hasher.digest(), 0
        except OSError as err:
            raise SlotIOError(f"cannot read slot {slot.name}: {err.strerror}") from None
        return hasher.digest(), read

    def discard(self, slot: FirmwareSlot) -> None:
        """Remove ``slot``'s image (a failed or abandoned update)."""
        try:
            self.path(slot).unlink(missing_ok=True)
            _fsync_directory(self.directory)
        except OSError as err:
            raise SlotIOError(
                f"cannot discard slot {slot.name}: {err.strerror}"
            ) from None
