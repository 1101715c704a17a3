"""Firmware updates from the controller side: offer, stream with resume, install.

This is the API the Home Assistant update entity drives::

    release = FirmwareRelease.from_bytes(signed_manifest, image)   # or load_release(dir)
    status = await firmware_status(client)          # running version, progress
    status = await update_firmware(client, release, on_progress=callback)

`update_firmware` is safe to call again after any failure: the transfer id is
derived from the manifest, so the lock reports how much of this release it
already holds and streaming resumes from there.  Every answer it acts on is
signed by the lock; a refusal raises `FirmwareRejected` with a stable
``ErrorCode`` (``firmware_rollback``, ``firmware_self_check_failed``, ...).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
import logging
from pathlib import Path

from ..protocol.chunking import split_firmware
from ..protocol.errors import ErrorCode, ProtocolError
from ..protocol.firmware import (
    FirmwareManifest,
    ReleasePublicKey,
    SignedManifest,
    check_image,
    image_digest,
    verify_manifest,
)
from ..protocol.messages import (
    CommandResult,
    EventType,
    FirmwareInstall,
    FirmwareStatus,
    FirmwareStatusRequest,
    MessageKind,
    Payload,
    ResultCode,
    UpdateOutcome,
    UpdateState,
)
from .client import LockClient, LockReport
from .errors import CommandRefused, CommandTimeout, ControllerError

_LOGGER = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.slfw"
IMAGE_FILE = "image.bin"
RELEASE_INFO_FILE = "release.json"
DEFAULT_WINDOW = 16
"""Chunks sent before asking for progress: under the lock's per-connection
queue and the LAN rate limiter's burst, so a window is never dropped whole."""
DEFAULT_INSTALL_TIMEOUT = 120.0
MAX_STALLED_WINDOWS = 3


class FirmwareRejected(ControllerError):
    """The lock (or this controller's pre-check) refused the release; `code` says why."""

    def __init__(self, code: ErrorCode, status: FirmwareStatus | None = None) -> None:
        """Keep the stable code and the lock's signed status, if there was one."""
        super().__init__(f"firmware update refused: {code.value}")
        self.code = code
        self.status = status


class UpdatePhase(StrEnum):
    """What `update_firmware` is doing."""

    OFFERING = "offering"
    TRANSFERRING = "transferring"
    INSTALLING = "installing"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class UpdateProgress:
    """One progress report; ``held`` bytes of ``total`` are confirmed by the lock."""

    phase: UpdatePhase
    held: int
    total: int

    @property
    def percent(self) -> int:
        """Return the transfer progress in whole percent."""
        return 100 if not self.total else self.held * 100 // self.total


type ProgressCallback = Callable[[UpdateProgress], None]


@dataclass(frozen=True, slots=True)
class FirmwareRelease:
    """A signed manifest and its image, as published (the manifest is not yet verified)."""

    signed_manifest: bytes
    image: bytes
    manifest: FirmwareManifest

    @classmethod
    def from_bytes(cls, signed_manifest: bytes, image: bytes) -> FirmwareRelease:
        """Parse the manifest and check the image against it (``malformed`` / hash mismatch).

        Signatures are checked by the lock; pass a key to `verify` to check
        them here as well.
        """
        manifest = SignedManifest.from_bytes(signed_manifest).manifest
        check_image(manifest, image_digest(image), len(image))
        return cls(signed_manifest, image, manifest)

    @property
    def transfer_id(self) -> bytes:
        """Return the transfer id (stable for this release: resumable)."""
        return self.manifest.transfer_id

    @property
    def version(self) -> str:
        """Return the release's version text."""
        return str(self.manifest.version)

    def verify(self, key: ReleasePublicKey) -> None:
        """Check the signatures under ``key`` (raises `FirmwareError`)."""
        verify_manifest(self.signed_manifest, key)


def load_release(directory: Path) -> FirmwareRelease:
    """Read a release directory (blocking I/O: run it in an executor)."""
    try:
        signed = (directory / MANIFEST_FILE).read_bytes()
        image = (directory / IMAGE_FILE).read_bytes()
    except OSError as err:
        raise ProtocolError(
            ErrorCode.INVALID_ARGUMENT, f"cannot read release: {err.strerror}"
        ) from None
    return FirmwareRelease.from_bytes(signed, image)


def _reason_code(text: str) -> ErrorCode:
    try:
        return ErrorCode(text)
    except ValueError:
        return ErrorCode.INVALID_ARGUMENT


async def _firmware_request(
    client: LockClient, kind: MessageKind, payload: Payload
) -> FirmwareStatus:
    outcome = await client.request(kind, payload)
    answer = outcome.messages[-1].payload
    if isinstance(answer, CommandResult):
        # Not permitted (role) or not supported: the generic signed refusal.
        raise CommandRefused(answer)
    if not isinstance(answer, FirmwareStatus):
        raise ProtocolError(ErrorCode.UNEXPECTED_MESSAGE, "not a firmware status")
    if answer.result is not ResultCode.OK:
        raise FirmwareRejected(_reason_code(answer.reason), answer)
    return answer


async def firmware_status(client: LockClient) -> FirmwareStatus:
    """Ask the lock where an update stands (admins and operators)."""
    return await _firmware_request(
        client, MessageKind.FIRMWARE_STATUS_REQUEST, FirmwareStatusRequest()
    )


async def offer_firmware(
    client: LockClient, release: FirmwareRelease
) -> FirmwareStatus:
    """Send the signed manifest; the lock verifies it and answers with its resume offset."""
    parts = split_firmware(
        release.signed_manifest, release.transfer_id, client.paired_lock.suite
    )
    status: FirmwareStatus | None = None
    for part in parts:
        status = await _firmware_request(client, MessageKind.FIRMWARE_OFFER, part)
    assert status is not None
    return status


def _check_holds(status: FirmwareStatus, release: FirmwareRelease) -> None:
    """Raise unless ``status`` is about ``release``'s transfer, still going."""
    if status.transfer_id == release.transfer_id and status.state in (
        UpdateState.RECEIVING,
        UpdateState.READY,
    ):
        return
    if status.last_outcome is UpdateOutcome.TRANSFER_FAILED and status.last_error:
        raise FirmwareRejected(_reason_code(status.last_error), status)
    raise FirmwareRejected(ErrorCode.FIRMWARE_NO_TRANSFER, status)


async def send_firmware(
    client: LockClient,
    release: FirmwareRelease,
    status: FirmwareStatus,
    *,
    on_progress: ProgressCallback | None = None,
    window: int = DEFAULT_WINDOW,
    frames_per_second: float | None = None,
) -> FirmwareStatus:
    """Stream the image from the lock's resume offset in ``status`` until it holds all of it.

    The chunks are paced at the link's `send_rate` (the lock's LAN server
    drops frames above its per-connection rate); ``frames_per_second``
    overrides it, 0 for unpaced.
    """
    pace = client.link.send_rate if frames_per_second is None else frames_per_second
    report = on_progress or (lambda _progress: None)
    total = len(release.image)
    stalled = 0
    while True:
        _check_holds(status, release)
        report(UpdateProgress(UpdatePhase.TRANSFERRING, status.received, total))
        if status.state is UpdateState.READY:
            return status
        chunks = split_firmware(
            release.image,
            release.transfer_id,
            client.paired_lock.suite,
            start=status.received,
        )[:window]
        for chunk in chunks:
            await client.post(MessageKind.FIRMWARE_CHUNK, chunk)
            if pace:
                # Pacing, not waiting for an event: stay under the link's limit.
                await asyncio.sleep(1 / pace)
        before = status.received
        # Links keep order: the answer comes after the lock handled every chunk.
        status = await firmware_status(client)
        stalled = stalled + 1 if status.received <= before else 0
        if stalled > MAX_STALLED_WINDOWS and status.state is UpdateState.RECEIVING:
            raise CommandTimeout("the lock stopped taking firmware chunks")


async def install_firmware(
    client: LockClient,
    release: FirmwareRelease,
    *,
    timeout: float = DEFAULT_INSTALL_TIMEOUT,
) -> FirmwareStatus:
    """Install the fully sent image and wait for the lock to report the reboot's outcome.

    Returns the status once the lock runs ``release``; raises `FirmwareRejected`
    with ``firmware_self_check_failed`` (or ``firmware_interrupted``) if it
    fell back to its old image.
    """
    finished = asyncio.Event()

    def listen(update: LockReport) -> None:
        if update.event is not None and update.event.event in (
            EventType.FIRMWARE_UPDATED,
            EventType.FIRMWARE_ROLLED_BACK,
        ):
            finished.set()

    # Listening before asking: the outcome event may arrive with the answer.
    remove = client.add_listener(listen)
    try:
        await _firmware_request(
            client, MessageKind.FIRMWARE_INSTALL, FirmwareInstall(release.transfer_id)
        )
        try:
            async with asyncio.timeout(timeout):
                await finished.wait()
        except TimeoutError:
            # The event may have been lost (link down during the reboot):
            # the signed status below is the authority either way.
            _LOGGER.debug("No firmware outcome event; asking for status")
    finally:
        remove()
    status = await firmware_status(client)
    if status.state is UpdateState.INSTALLING:
        raise CommandTimeout("the lock has not finished installing")
    if (
        status.last_outcome is UpdateOutcome.UPDATED
        and status.running_version == release.version
    ):
        return status
    raise FirmwareRejected(
        _reason_code(status.last_error or ErrorCode.FIRMWARE_INTERRUPTED.value), status
    )


async def update_firmware(
    client: LockClient,
    release: FirmwareRelease,
    *,
    on_progress: ProgressCallback | None = None,
    install: bool = True,
    window: int = DEFAULT_WINDOW,
    frames_per_second: float | None = None,
    install_timeout: float = DEFAULT_INSTALL_TIMEOUT,
) -> FirmwareStatus:
    """Offer, stream (resuming), and install ``release``; the whole update in one call."""
    report = on_progress or (lambda _progress: None)
    total = len(release.image)
    report(UpdateProgress(UpdatePhase.OFFERING, 0, total))
    status = await offer_firmware(client, release)
    status = await send_firmware(
        client,
        release,
        status,
        on_progress=report,
        window=window,
        frames_per_second=frames_per_second,
    )
    if not install:
        return status
    report(UpdateProgress(UpdatePhase.INSTALLING, total, total))
    status = await install_firmware(client, release, timeout=install_timeout)
    report(UpdateProgress(UpdatePhase.DONE, total, total))
    return status


__all__ = [
    "DEFAULT_WINDOW",
    "FirmwareRejected",
    "FirmwareRelease",
    "UpdatePhase",
    "UpdateProgress",
    "firmware_status",
    "install_firmware",
    "load_release",
    "offer_firmware",
    "send_firmware",
    "update_firmware",
]
