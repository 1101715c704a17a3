"""Manufacturer tooling: the release key, building and signing releases, publishing them.

Development only: the private release key is a file (0600) here; in
production it lives in an HSM.  It is a different key from the dev CA's
(`pki.py`) on purpose: the CA vouches for *devices* talking to the broker,
the release key vouches for *code* running on them, and leaking one must not
give the other.  `create_release_key` refuses a directory that holds a CA key.

A release directory (what `publish` writes and ``client update`` reads)::

    RELEASE_DIR/
      manifest.slfw   signed manifest (the only trusted file; docs/protocol.md §18)
      image.bin       the firmware image, pinned by size and SHA-256 in the manifest
      release.json    a human-readable copy of the manifest (informational, unsigned)
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import json
import os
from pathlib import Path
import stat

from custom_components.secure_lock.controller.firmware import (
    IMAGE_FILE,
    MANIFEST_FILE,
    RELEASE_INFO_FILE,
)
from custom_components.secure_lock.protocol.firmware import (
    FirmwareManifest,
    FirmwareVersion,
    ReleasePublicKey,
    ReleaseSigningKey,
    SignedManifest,
    image_digest,
)

PRIVATE_KEY_FILE = "release.key"
PUBLIC_KEY_FILE = "release.pub"
_CA_KEY_FILE = "ca.key"


class ReleaseToolError(Exception):
    """A tooling request that cannot be done; nothing was written."""


@dataclass(frozen=True, slots=True)
class KeyFiles:
    """Where a release key pair was written."""

    private: Path
    public: Path


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode`` (it must not exist), write and fsync it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise ReleaseToolError(f"{path} exists; refusing to overwrite it") from None
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def create_release_key(directory: Path) -> KeyFiles:
    """Generate a release key: ``release.key`` (0600) and ``release.pub`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if (directory / _CA_KEY_FILE).exists():
        raise ReleaseToolError(
            f"{directory} holds a CA key; keep the release key in its own directory"
        )
    key = ReleaseSigningKey.generate()
    files = KeyFiles(directory / PRIVATE_KEY_FILE, directory / PUBLIC_KEY_FILE)
    _write_new(files.private, key.to_bytes(), 0o600)
    _write_new(files.public, (key.public_key().to_text() + "\n").encode(), 0o644)
    return files


def load_signing_key(path: Path) -> ReleaseSigningKey:
    """Read a private release key, refusing one that others can read."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as err:
        raise ReleaseToolError(f"cannot open {path}: {err.strerror}") from None
    try:
        if os.fstat(fd).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ReleaseToolError(f"{path} is readable by others; expected 0600")
        data = os.read(fd, 4096)
    finally:
        os.close(fd)
    return ReleaseSigningKey.from_bytes(data)


def load_public_key(path: Path) -> ReleasePublicKey:
    """Read ``release.pub``."""
    try:
        return ReleasePublicKey.from_text(path.read_text(encoding="ascii"))
    except (OSError, UnicodeDecodeError) as err:
        raise ReleaseToolError(f"cannot read {path}: {err}") from None


def generate_test_image(version: FirmwareVersion, size: int) -> bytes:
    """Return a deterministic stand-in image for ``version`` (SHA-256 stream; not random)."""
    seed = f"secure-lock simulated firmware {version}".encode()
    blocks = (
        hashlib.sha256(seed + n.to_bytes(8, "big")).digest()
        for n in range(size // 32 + 1)
    )
    return b"".join(blocks)[:size]


def build_release(
    key: ReleaseSigningKey,
    image: bytes,
    *,
    model: str,
    version: FirmwareVersion,
    security_version: int = 0,
    min_version: FirmwareVersion | None = None,
    notes: str = "",
) -> SignedManifest:
    """Describe ``image`` in a manifest and sign it."""
    try:
        manifest = FirmwareManifest(
            model=model,
            version=version,
            security_version=security_version,
            image_size=len(image),
            image_sha256=image_digest(image),
            min_version=min_version or FirmwareVersion(0, 0, 0),
            release_notes=notes,
        )
    except ValueError as err:
        raise ReleaseToolError(str(err)) from None
    return key.sign(manifest)


def build_test_release(
    key: ReleaseSigningKey,
    version: str,
    *,
    model: str,
    size: int,
    security_version: int = 0,
    min_version: str = "0.0.0",
    notes: str | None = None,
) -> tuple[SignedManifest, bytes]:
    """Sign a generated stand-in image for ``version``; return manifest and image."""
    parsed = FirmwareVersion.parse(version)
    image = generate_test_image(parsed, size)
    signed = build_release(
        key,
        image,
        model=model,
        version=parsed,
        security_version=security_version,
        min_version=FirmwareVersion.parse(min_version),
        notes=notes if notes is not None else f"Release {version}",
    )
    return signed, image


def publish(directory: Path, signed: SignedManifest, image: bytes) -> Path:
    """Write a release directory (must not exist or be empty)."""
    if directory.exists() and any(directory.iterdir()):
        raise ReleaseToolError(f"{directory} is not empty")
    directory.mkdir(parents=True, exist_ok=True)
    manifest = signed.manifest
    info = {
        "model": manifest.model,
        "version": str(manifest.version),
        "security_version": manifest.security_version,
        "min_version": str(manifest.min_version),
        "image_size": manifest.image_size,
        "image_sha256": manifest.image_sha256.hex(),
        "release_notes": manifest.release_notes,
        "transfer_id": manifest.transfer_id.hex(),
        "signatures": [
            {"algorithm": s.algorithm.name, "key_id": s.key_id.hex()}
            for s in signed.signatures
        ],
    }
    _write_new(directory / IMAGE_FILE, image, 0o644)
    _write_new(
        directory / RELEASE_INFO_FILE,
        (json.dumps(info, indent=2) + "\n").encode(),
        0o644,
    )
    # The manifest last: a directory with a manifest is a complete release.
    _write_new(directory / MANIFEST_FILE, signed.to_bytes(), 0o644)
    return directory
