"""Crash-safe sealed storage for the simulated lock's state.

Each record is one file ``<name>.sealed`` holding a small header and a
ChaCha20-Poly1305 ciphertext under a device-unique 256-bit key.  The key lives
apart from the state (a 0600 key file or an environment variable), standing in
for the key a real lock keeps in its secure element or TPM.  The associated
data binds the format version, the record's name (its role) and its
generation, so a record cannot be renamed into another role, downgraded to
another format, or have its generation edited without failing authentication.

Rollback: with a `RollbackCounter` (the secure element's monotonic counter,
see `nv_counter`), every record also carries an epoch in its authenticated
header, one counter per record name.  A save writes the record with epoch
counter+1 and only then advances the counter; a load accepts epoch == counter
(committed) or counter+1 (written, power cut before the advance: that write
was never acted on, so keeping it is the same as the power cut coming a
moment later).  Anything older, a record that is missing although its counter
moved, or one from the future, raises `RecordRolledBack`.  The first save of
each record in a store's life writes twice (epochs counter+1 and +2), so a
copy of a write that was cut off before a reboot (epoch counter+1 then) can
never become acceptable later.  Deleting writes a sealed tombstone, so a
deleted record cannot be brought back either.

Writes are atomic: a temporary file in the same directory is written, flushed
and fsync'ed, renamed over the record, and the directory is fsync'ed.  After a
crash at any point, a load sees either the previous complete record or the
new one, never a mixture.

This module imports nothing from the rest of device_sim so a crash-test
worker can load it on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import os
from pathlib import Path
import re
import secrets
import stat
import struct
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

MAGIC = b"SLSEAL"
FORMAT_VERSION = 2
UNBOUND_FORMAT_VERSION = 1
KEY_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16
SUFFIX = ".sealed"
TEMP_SUFFIX = ".tmp"
_PREFIX = struct.Struct(f">{len(MAGIC)}sB")
# magic, format version, generation (format 1, before rollback counters)
_HEADER_V1 = struct.Struct(f">{len(MAGIC)}sBQ")
# magic, format version, flags, generation, epoch
_HEADER = struct.Struct(f">{len(MAGIC)}sBBQQ")
_FLAG_TOMBSTONE = 0x01
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
DEFAULT_KEY_ENV = "SECURE_LOCK_DEVICE_KEY"


class StorageError(Exception):
    """Base class of storage errors."""


class StorageCorrupted(StorageError):
    """A record failed to parse or authenticate: tampered, truncated or foreign."""


class StorageIOError(StorageError):
    """The file system refused a read or write; nothing was changed."""


class StorageKeyError(StorageError):
    """The device key is missing, malformed, or too widely readable."""


class InvalidRecordName(StorageError, ValueError):
    """A record name that is not a safe file name."""


class StorageReadOnly(StorageError):
    """A quarantined store (after a rollback) refuses every write."""


class RecordRolledBack(StorageError):
    """A record is authentic but not the latest one: an older copy was put back.

    Carries the record name, the epoch found (None when the file is missing)
    and the secure element's counter; never any of the record's contents.
    """

    def __init__(self, name: str, epoch: int | None, counter: int) -> None:
        """Describe which record and how far it is from the counter."""
        found = "missing" if epoch is None else f"epoch {epoch}"
        super().__init__(
            f"record {name!r} is not the latest ({found}, secure counter {counter})"
        )
        self.name = name
        self.epoch = epoch
        self.counter = counter


class RollbackCounter(Protocol):
    """Monotonic counters outside the flash, one per record name (see nv_counter)."""

    def value(self, name: str) -> int:
        """Return the counter for ``name`` (0 if it never advanced)."""
        ...

    def advance(self, name: str, value: int) -> None:
        """Durably raise the counter for ``name`` to ``value``."""
        ...


class KeySource(Protocol):
    """Where the device key comes from."""

    def load_key(self) -> bytes:
        """Return the 32-byte device key, creating it on first boot if this source can."""
        ...


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_new_file(path: Path, data: bytes) -> None:
    """Create ``path`` (0600, must not exist), write and fsync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class KeyFile:
    """A key file created with 0600 on first boot and refused if others can read it."""

    path: Path

    def load_key(self) -> bytes:
        """Return the key, creating the file atomically if it does not exist."""
        try:
            return self._read()
        except FileNotFoundError:
            pass
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temp = self.path.with_name(
            f".{self.path.name}.{secrets.token_hex(8)}{TEMP_SUFFIX}"
        )
        _write_new_file(temp, secrets.token_bytes(KEY_LEN))
        try:
            # link() fails if another process created the key first; then use theirs.
            os.link(temp, self.path)
        except FileExistsError:
            pass
        finally:
            temp.unlink()
        _fsync_directory(self.path.parent)
        return self._read()

    def _read(self) -> bytes:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            mode = os.fstat(fd).st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise StorageKeyError(
                    f"key file {self.path} is accessible to group or others; expected 0600"
                )
            key = os.read(fd, KEY_LEN + 1)
        finally:
            os.close(fd)
        if len(key) != KEY_LEN:
            raise StorageKeyError(
                f"key file {self.path} does not hold a {KEY_LEN}-byte key"
            )
        return key


@dataclass(frozen=True, slots=True)
class EnvKey:
    """A key given as 64 hex digits in an environment variable."""

    variable: str = DEFAULT_KEY_ENV
    environ: Callable[[str], str | None] = os.environ.get

    def load_key(self) -> bytes:
        """Return the key from the environment."""
        text = self.environ(self.variable)
        if text is None:
            raise StorageKeyError(f"environment variable {self.variable} is not set")
        try:
            key = bytes.fromhex(text.strip())
        except ValueError:
            raise StorageKeyError(f"{self.variable} is not hex") from None
        if len(key) != KEY_LEN:
            raise StorageKeyError(f"{self.variable} must hold {KEY_LEN} bytes")
        return key


@dataclass(frozen=True, slots=True)
class SealedRecord:
    """A loaded record and its generation (incremented on every save)."""

    generation: int
    data: bytes
    epoch: int = 0
    """The rollback counter value it was written under (0: not bound)."""
    tombstone: bool = False


def check_name(name: str) -> str:
    """Return ``name`` if it is a safe record name."""
    if not _NAME_RE.fullmatch(name):
        raise InvalidRecordName("record name must match [a-z0-9][a-z0-9_-]{0,63}")
    return name


def _associated_data(name: str, header: bytes) -> bytes:
    return header + b"\x00role=" + name.encode("ascii")


class SealedStore:
    """Sealed, atomically replaced records in one directory."""

    def __init__(
        self,
        directory: Path,
        key_source: KeySource,
        *,
        counter: RollbackCounter | None = None,
        read_only: bool = False,
    ) -> None:
        """Open the store; the key is loaded (or created) now, not on first use.

        With ``counter`` every record is bound to it (see the module doc).
        """
        self._directory = directory
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._key_source = key_source
        self._aead = ChaCha20Poly1305(key_source.load_key())
        self._counter = counter
        self._read_only = read_only
        self._saved_once: set[str] = set()
        if not read_only:
            self._sweep_temporaries()

    @property
    def directory(self) -> Path:
        """Return the directory holding the records."""
        return self._directory

    @property
    def bound(self) -> bool:
        """Return whether records are bound to a rollback counter."""
        return self._counter is not None

    def quarantined(self) -> SealedStore:
        """Return a view that loads records without the rollback check and never writes.

        For a lock that found a rolled-back record: it may still read what is
        there (to know whom to warn) but must never seal it again, which
        would make the old copy current.
        """
        return SealedStore(self._directory, self._key_source, read_only=True)

    def path_of(self, name: str) -> Path:
        """Return the file that holds record ``name``."""
        return self._directory / f"{check_name(name)}{SUFFIX}"

    def _sweep_temporaries(self) -> None:
        # Left over by a crash between creating and renaming; never a record.
        for leftover in self._directory.glob(f".*{TEMP_SUFFIX}"):
            leftover.unlink(missing_ok=True)

    def load_record(self, name: str) -> SealedRecord | None:
        """Return the record, ``None`` if it was never saved (or was deleted).

        Raise StorageCorrupted if it does not authenticate, RecordRolledBack
        if it is not the latest.
        """
        record = self._read(name)
        if self._counter is not None:
            self._check_latest(name, record)
        if record is None or record.tombstone:
            return None
        return record

    def check(self, name: str) -> RecordRolledBack | None:
        """Return the rollback finding for ``name``, or None if it is the latest."""
        try:
            self.load_record(name)
        except RecordRolledBack as err:
            return err
        return None

    def _check_latest(self, name: str, record: SealedRecord | None) -> None:
        assert self._counter is not None
        counter = self._counter.value(name)
        if record is None:
            if counter:
                raise RecordRolledBack(name, None, counter)
            return
        if record.epoch not in (counter, counter + 1):
            raise RecordRolledBack(name, record.epoch, counter)

    def _read(self, name: str) -> SealedRecord | None:
        path = self.path_of(name)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise StorageIOError(
                f"cannot read record {name!r}: {err.strerror}"
            ) from None
        if len(blob) < _PREFIX.size:
            raise StorageCorrupted(f"record {name!r} is truncated")
        magic, version = _PREFIX.unpack(blob[: _PREFIX.size])
        if magic != MAGIC:
            raise StorageCorrupted(f"record {name!r} is not a sealed record")
        if version == FORMAT_VERSION:
            header_size = _HEADER.size
        elif version == UNBOUND_FORMAT_VERSION:
            header_size = _HEADER_V1.size
        else:
            raise StorageCorrupted(f"record {name!r} has unsupported format {version}")
        if len(blob) < header_size + NONCE_LEN + TAG_LEN:
            raise StorageCorrupted(f"record {name!r} is truncated")
        header = blob[:header_size]
        if version == FORMAT_VERSION:
            _, _, flags, generation, epoch = _HEADER.unpack(header)
        else:
            flags, epoch = 0, 0
            _, _, generation = _HEADER_V1.unpack(header)
        nonce = blob[header_size : header_size + NONCE_LEN]
        try:
            data = self._aead.decrypt(
                nonce, blob[header_size + NONCE_LEN :], _associated_data(name, header)
            )
        except InvalidTag:
            raise StorageCorrupted(
                f"record {name!r} failed authentication "
                "(tampered, truncated, renamed, or sealed under another key)"
            ) from None
        return SealedRecord(
            generation, data, epoch, tombstone=bool(flags & _FLAG_TOMBSTONE)
        )

    def load(self, name: str) -> bytes | None:
        """Return the record's bytes, ``None`` if it was never saved."""
        record = self.load_record(name)
        return None if record is None else record.data

    def save(self, name: str, data: bytes) -> int:
        """Seal and atomically replace record ``name``; return its new generation.

        When this returns, the record is durable (file and directory fsync'ed)
        and, in a bound store, the counter has advanced to it.
        """
        return self._save(name, data, tombstone=False)

    def delete(self, name: str) -> None:
        """Remove record ``name`` durably (no error if absent).

        In a bound store a sealed tombstone replaces it, so the deleted
        record cannot be copied back.
        """
        if self._counter is None:
            self._refuse_if_read_only(name)
            self.path_of(name).unlink(missing_ok=True)
            _fsync_directory(self._directory)
            return
        self._save(name, b"", tombstone=True)

    def _refuse_if_read_only(self, name: str) -> None:
        if self._read_only:
            raise StorageReadOnly(f"record {name!r} not written: store is quarantined")

    def _save(self, name: str, data: bytes, *, tombstone: bool) -> int:
        self._refuse_if_read_only(name)
        try:
            previous = self._read(name)
        except StorageCorrupted:
            # A damaged record is replaced; there is nothing in it to keep.
            previous = None
        generation = 1 if previous is None else previous.generation + 1
        if self._counter is None:
            self._write(name, data, generation, 0, tombstone=tombstone)
            return generation
        counter = self._counter.value(name)
        # Twice on the first save: see the module doc (a cut-off write from
        # before this boot carries counter+1 and must never match later).
        epochs = (
            (counter + 1,) if name in self._saved_once else (counter + 1, counter + 2)
        )
        for epoch in epochs:
            self._write(name, data, generation, epoch, tombstone=tombstone)
            self._counter.advance(name, epoch)
        self._saved_once.add(name)
        return generation

    def _write(
        self, name: str, data: bytes, generation: int, epoch: int, *, tombstone: bool
    ) -> None:
        path = self.path_of(name)
        flags = _FLAG_TOMBSTONE if tombstone else 0
        header = _HEADER.pack(MAGIC, FORMAT_VERSION, flags, generation, epoch)
        # Random 96-bit nonces: at one write per lock operation the
        # birthday bound is far beyond the device's lifetime.
        nonce = secrets.token_bytes(NONCE_LEN)
        sealed = self._aead.encrypt(nonce, data, _associated_data(name, header))
        temp = self._directory / f".{path.name}.{secrets.token_hex(8)}{TEMP_SUFFIX}"
        try:
            _write_new_file(temp, header + nonce + sealed)
            temp.replace(path)
            _fsync_directory(self._directory)
        except OSError as err:
            temp.unlink(missing_ok=True)
            raise StorageIOError(
                f"cannot write record {name!r}: {err.strerror}"
            ) from None
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
