"""Crash-safe sealed storage for the simulated lock's state.

Each record is one file ``<name>.sealed`` holding a small header and a
ChaCha20-Poly1305 ciphertext under a device-unique 256-bit key.  The key lives
apart from the state (a 0600 key file or an environment variable), standing in
for the key a real lock keeps in its secure element or TPM.  The associated
data binds the format version, the record's name (its role) and its
generation, so a record cannot be renamed into another role, downgraded to
another format, or have its generation edited without failing authentication.

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
FORMAT_VERSION = 1
KEY_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16
SUFFIX = ".sealed"
TEMP_SUFFIX = ".tmp"
# magic, format version, generation
_HEADER = struct.Struct(f">{len(MAGIC)}sBQ")
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


def check_name(name: str) -> str:
    """Return ``name`` if it is a safe record name."""
    if not _NAME_RE.fullmatch(name):
        raise InvalidRecordName("record name must match [a-z0-9][a-z0-9_-]{0,63}")
    return name


def _associated_data(name: str, header: bytes) -> bytes:
    return header + b"\x00role=" + name.encode("ascii")


class SealedStore:
    """Sealed, atomically replaced records in one directory."""

    def __init__(self, directory: Path, key_source: KeySource) -> None:
        """Open the store; the key is loaded (or created) now, not on first use."""
        self._directory = directory
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._aead = ChaCha20Poly1305(key_source.load_key())
        self._sweep_temporaries()

    @property
    def directory(self) -> Path:
        """Return the directory holding the records."""
        return self._directory

    def path_of(self, name: str) -> Path:
        """Return the file that holds record ``name``."""
        return self._directory / f"{check_name(name)}{SUFFIX}"

    def _sweep_temporaries(self) -> None:
        # Left over by a crash between creating and renaming; never a record.
        for leftover in self._directory.glob(f".*{TEMP_SUFFIX}"):
            leftover.unlink(missing_ok=True)

    def load_record(self, name: str) -> SealedRecord | None:
        """Return the record, ``None`` if it was never saved; raise StorageCorrupted."""
        path = self.path_of(name)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise StorageIOError(
                f"cannot read record {name!r}: {err.strerror}"
            ) from None
        minimum = _HEADER.size + NONCE_LEN + TAG_LEN
        if len(blob) < minimum:
            raise StorageCorrupted(f"record {name!r} is truncated")
        header = blob[: _HEADER.size]
        magic, version, generation = _HEADER.unpack(header)
        if magic != MAGIC:
            raise StorageCorrupted(f"record {name!r} is not a sealed record")
        if version != FORMAT_VERSION:
            raise StorageCorrupted(f"record {name!r} has unsupported format {version}")
        nonce = blob[_HEADER.size : _HEADER.size + NONCE_LEN]
        try:
            data = self._aead.decrypt(
                nonce, blob[_HEADER.size + NONCE_LEN :], _associated_data(name, header)
            )
        except InvalidTag:
            raise StorageCorrupted(
                f"record {name!r} failed authentication "
                "(tampered, truncated, renamed, or sealed under another key)"
            ) from None
        return SealedRecord(generation, data)

    def load(self, name: str) -> bytes | None:
        """Return the record's bytes, ``None`` if it was never saved."""
        record = self.load_record(name)
        return None if record is None else record.data

    def save(self, name: str, data: bytes) -> int:
        """Seal and atomically replace record ``name``; return its new generation.

        When this returns, the record is durable (file and directory fsync'ed).
        """
        path = self.path_of(name)
        try:
            previous = self.load_record(name)
        except StorageCorrupted:
            # A damaged record is replaced; there is nothing in it to keep.
            previous = None
        generation = 1 if previous is None else previous.generation + 1
        header = _HEADER.pack(MAGIC, FORMAT_VERSION, generation)
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
        return generation

    def delete(self, name: str) -> None:
        """Remove record ``name`` durably (no error if absent)."""
        self.path_of(name).unlink(missing_ok=True)
        _fsync_directory(self._directory)
