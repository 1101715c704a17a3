"""The lock's firmware update state machine (transport-free; `LockDevice` drives it).

::

    IDLE --offer verified--> RECEIVING --last chunk, hash ok--> READY
      ^                         |  hash mismatch                  | install
      |<------------------------+                                 v
      |<---- self-check ok: commit, floor raised ------------ INSTALLING (trial)
      |<---- self-check failed / trial interrupted: old slot stays active

Every state change is persisted (through ``persist``) before it is reported,
and refusals change nothing.  A trial boot counts its attempts durably: a
lock that dies while booting the new image comes back on the old one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import logging

from custom_components.secure_lock.protocol.chunking import ChunkAssembler
from custom_components.secure_lock.protocol.errors import (
    ErrorCode,
    MalformedError,
    ProtocolError,
)
from custom_components.secure_lock.protocol.firmware import (
    MAX_SIGNED_MANIFEST_SIZE,
    FirmwareError,
    FirmwareVersion,
    ReleasePublicKey,
    VerifiedManifest,
    check_image,
    check_update,
    verify_manifest,
)
from custom_components.secure_lock.protocol.messages import (
    FirmwareChunk,
    FirmwareSlot,
    FirmwareStatus,
    ResultCode,
    UpdateOutcome,
    UpdateState,
)

from .firmware_record import FirmwareRecord, SlotRecord, TransferRecord, TrialRecord
from .firmware_slots import SlotIOError, SlotStore

_LOGGER = logging.getLogger(__name__)

MAX_TRIAL_BOOTS = 1
"""A new image gets one boot to confirm itself; a second boot means it did not."""


class UpdateRefused(Exception):
    """A firmware request the lock refuses; nothing was changed."""

    def __init__(
        self, code: ErrorCode, result: ResultCode = ResultCode.FIRMWARE_REJECTED
    ) -> None:
        """Carry the stable code the signed answer will name."""
        super().__init__(code.value)
        self.code = code
        self.result = result


@dataclass(frozen=True, slots=True)
class TrialResult:
    """How a trial boot ended."""

    outcome: UpdateOutcome
    version: str
    error: str = ""


def _refusal(err: ProtocolError) -> UpdateRefused:
    if isinstance(err, FirmwareError):
        return UpdateRefused(err.code)
    return UpdateRefused(err.code, ResultCode.INVALID_REQUEST)


class FirmwareUpdater:
    """Offers, chunks, install and the trial boot, over one `FirmwareRecord`."""

    def __init__(
        self,
        record: FirmwareRecord,
        slots: SlotStore,
        *,
        model: str,
        persist: Callable[[], None],
    ) -> None:
        """Work on ``record`` (part of the sealed state); ``persist`` saves it."""
        self.record = record
        self.slots = slots
        self.model = model
        self._persist = persist
        self._offer: ChunkAssembler | None = None
        self.fail_next_self_check = False
        """Set through the admin channel to test the fallback."""
        self.dropped_chunks = 0
        self._verified: tuple[bytes, VerifiedManifest] | None = None

    # Boot ------------------------------------------------------------------

    def provision(
        self, factory_version: str, release_key: ReleasePublicKey | None
    ) -> bool:
        """Record the factory image and bake in the release key; return whether anything changed.

        The key is stored the first time one is given and never replaced.
        """
        changed = False
        if not self.record.slots:
            self.record.slots[FirmwareSlot.A] = SlotRecord(factory_version)
            changed = True
        if release_key is not None:
            stored = self.record.release_key
            if stored is None:
                self.record.release_key = release_key.to_bytes()
                changed = True
            elif stored != release_key.to_bytes():
                _LOGGER.warning(
                    "Ignoring a different release key: the baked-in one stays"
                )
        return changed

    @property
    def running_version(self) -> str:
        """Return the version of the image in the active slot."""
        slot = self.record.slots.get(self.record.active)
        return slot.version if slot is not None else ""

    def _running(self) -> FirmwareVersion:
        try:
            return FirmwareVersion.parse(self.running_version)
        except ProtocolError:
            # A factory version that is not semantic sorts below every release.
            return FirmwareVersion(0, 0, 0)

    def _release_key(self) -> ReleasePublicKey:
        if self.record.release_key is None:
            raise UpdateRefused(
                ErrorCode.FIRMWARE_NO_RELEASE_KEY, ResultCode.UNSUPPORTED
            )
        return ReleasePublicKey.from_bytes(self.record.release_key)

    # Status ------------------------------------------------------------------

    @property
    def state(self) -> UpdateState:
        """Return where the update stands."""
        if self.record.trial is not None:
            return UpdateState.INSTALLING
        transfer = self.record.transfer
        if transfer is None:
            return UpdateState.IDLE
        return UpdateState.READY if transfer.ready else UpdateState.RECEIVING

    def _pending(self) -> VerifiedManifest | None:
        transfer = self.record.transfer
        if transfer is None or self.record.release_key is None:
            return None
        cached = self._verified
        if cached is not None and cached[0] == transfer.signed_manifest:
            return cached[1]
        # Stored only after verification; verified again after every boot.
        try:
            verified = verify_manifest(transfer.signed_manifest, self._release_key())
        except ProtocolError as err:
            _LOGGER.warning("Stored release no longer verifies: %s", err.code.value)
            return None
        self._verified = (transfer.signed_manifest, verified)
        return verified

    def status(
        self, now_ms: int, result: ResultCode = ResultCode.OK, reason: str = ""
    ) -> FirmwareStatus:
        """Return the signed-answer payload for the current state."""
        pending = self._pending()
        transfer = self.record.transfer
        return FirmwareStatus(
            result=result,
            state=self.state,
            running_version=self.running_version,
            running_slot=self.record.active,
            security_version=self.record.security_floor,
            lock_time_ms=now_ms,
            reason=reason,
            transfer_id=pending.transfer_id if pending else bytes(16),
            received=transfer.received if transfer else 0,
            total=pending.manifest.image_size if pending else 0,
            pending_version=str(pending.manifest.version) if pending else "",
            last_outcome=self.record.last_outcome,
            last_error=self.record.last_error,
        )

    # Offer -------------------------------------------------------------------

    def offer_part(self, part: FirmwareChunk) -> None:
        """Collect one part of a signed manifest; verify and accept it once complete.

        Raises `UpdateRefused` (nothing changed) for anything unacceptable.
        """
        if self.record.trial is not None:
            raise UpdateRefused(ErrorCode.FIRMWARE_BUSY, ResultCode.BUSY)
        if part.total_size > MAX_SIGNED_MANIFEST_SIZE:
            raise UpdateRefused(ErrorCode.PAYLOAD_TOO_LARGE, ResultCode.INVALID_REQUEST)
        offer = self._offer
        if (
            offer is None
            or offer.transfer_id != part.transfer_id
            or offer.total_size != part.total_size
        ):
            offer = self._offer = ChunkAssembler(part.transfer_id, part.total_size)
        try:
            complete = offer.add(part)
        except ProtocolError as err:
            self._offer = None
            raise _refusal(err) from None
        if not complete:
            return
        self._offer = None
        self._accept(part.transfer_id, offer.data())

    def _accept(self, transfer_id: bytes, signed: bytes) -> None:
        key = self._release_key()
        try:
            verified = verify_manifest(signed, key)
            if verified.transfer_id != transfer_id:
                raise MalformedError("transfer id does not belong to this manifest")
            check_update(
                verified,
                model=self.model,
                running=self._running(),
                min_security_version=self.record.security_floor,
            )
        except ProtocolError as err:
            _LOGGER.info("Refused a firmware offer: %s", err.code.value)
            raise _refusal(err) from None
        current = self.record.transfer
        if current is not None and current.signed_manifest == signed:
            return  # the same release again: resume where it stopped
        try:
            self.slots.begin(self.record.inactive)
        except SlotIOError as err:
            _LOGGER.warning("%s", err)
            raise UpdateRefused(
                ErrorCode.FIRMWARE_STORAGE, ResultCode.INTERNAL_ERROR
            ) from None
        self.record.transfer = TransferRecord(signed)
        self._persist()
        _LOGGER.info("Accepted firmware %s; receiving", verified.manifest.version)

    # Chunks --------------------------------------------------------------------

    def chunk(self, chunk: FirmwareChunk) -> None:
        """Append one image chunk (chunks are not answered; status reports progress)."""
        transfer = self.record.transfer
        pending = (
            self._pending() if transfer is not None and not transfer.ready else None
        )
        if (
            transfer is None
            or pending is None
            or self.record.trial is not None
            or chunk.transfer_id != pending.transfer_id
            or chunk.total_size != pending.manifest.image_size
            or chunk.offset != transfer.received
            or not chunk.data
        ):
            # Stale, duplicate or out of order: the controller resumes from
            # the offset the status reports, so dropping is always safe.
            self.dropped_chunks += 1
            return
        try:
            self.slots.write_at(self.record.inactive, chunk.offset, chunk.data)
        except SlotIOError as err:
            _LOGGER.warning("%s", err)
            self.dropped_chunks += 1
            return
        # The bytes are durable before the state says we hold them.
        transfer.received += len(chunk.data)
        if transfer.received == pending.manifest.image_size:
            self._finish_transfer(pending)
        self._persist()

    def _finish_transfer(self, pending: VerifiedManifest) -> None:
        transfer = self.record.transfer
        assert transfer is not None
        try:
            self._check_slot(self.record.inactive, pending)
        except (FirmwareError, SlotIOError) as err:
            _LOGGER.warning("Received image rejected: %s", err)
            self._abandon(
                UpdateOutcome.TRANSFER_FAILED, ErrorCode.FIRMWARE_HASH_MISMATCH
            )
            return
        transfer.ready = True

    def _check_slot(self, slot: FirmwareSlot, verified: VerifiedManifest) -> None:
        manifest = verified.manifest
        digest, size = self.slots.digest(slot, manifest.image_size)
        check_image(manifest, digest, size)

    def _abandon(self, outcome: UpdateOutcome, code: ErrorCode) -> None:
        """Drop the transfer (caller persists); the running slot is untouched."""
        self.record.transfer = None
        self.record.last_outcome = outcome
        self.record.last_error = code.value
        try:
            self.slots.discard(self.record.inactive)
        except SlotIOError as err:
            _LOGGER.warning("%s", err)

    # Install ---------------------------------------------------------------------

    def install(self, transfer_id: bytes, *, secured: bool = True) -> None:
        """Start a trial boot of the received image; raise `UpdateRefused` if it may not.

        ``secured`` is False when the lock's policy forbids updating now (the
        bolt is not locked and the lock refuses updates while unlocked).
        """
        if not secured:
            raise UpdateRefused(ErrorCode.FIRMWARE_NOT_LOCKED)
        transfer = self.record.transfer
        if self.record.trial is not None:
            raise UpdateRefused(ErrorCode.FIRMWARE_BUSY, ResultCode.BUSY)
        if transfer is None or not transfer.ready:
            raise UpdateRefused(ErrorCode.FIRMWARE_NO_TRANSFER)
        pending = self._pending()
        if pending is None or pending.transfer_id != transfer_id:
            raise UpdateRefused(ErrorCode.FIRMWARE_NO_TRANSFER)
        try:
            # The policy again (nothing should have changed, but it is cheap)
            # and the image again (the flash may have rotted since).
            check_update(
                pending,
                model=self.model,
                running=self._running(),
                min_security_version=self.record.security_floor,
            )
            self._check_slot(self.record.inactive, pending)
        except FirmwareError as err:
            if err.code is ErrorCode.FIRMWARE_HASH_MISMATCH:
                self._abandon(UpdateOutcome.TRANSFER_FAILED, err.code)
                self._persist()
            raise UpdateRefused(err.code) from None
        except SlotIOError:
            raise UpdateRefused(
                ErrorCode.FIRMWARE_STORAGE, ResultCode.INTERNAL_ERROR
            ) from None
        self.record.trial = TrialRecord(self.record.inactive)
        self._persist()
        _LOGGER.info(
            "Installing firmware %s: rebooting into slot %s",
            pending.manifest.version,
            self.record.inactive.name,
        )

    def trial_boot(self) -> TrialResult:
        """Boot the trial image: self-check, then commit it or fall back to the old slot."""
        trial = self.record.trial
        assert trial is not None
        pending = self._pending()
        if pending is None or trial.boots >= MAX_TRIAL_BOOTS:
            # The new image already had its boot and never confirmed (power
            # cut or crash mid-check): the bootloader keeps the old one.
            return self._fall_back(ErrorCode.FIRMWARE_INTERRUPTED)
        trial.boots += 1
        self._persist()
        if not self._self_check(trial.slot, pending):
            return self._fall_back(ErrorCode.FIRMWARE_SELF_CHECK_FAILED)
        manifest = pending.manifest
        self.record.slots[trial.slot] = SlotRecord(
            str(manifest.version),
            manifest.security_version,
            manifest.image_size,
            manifest.image_sha256,
        )
        self.record.active = trial.slot
        # Anti-rollback: raised only once the new image runs, and never lowered.
        self.record.security_floor = max(
            self.record.security_floor, manifest.security_version
        )
        self.record.trial = None
        self.record.transfer = None
        self.record.last_outcome = UpdateOutcome.UPDATED
        self.record.last_error = ""
        self._persist()
        _LOGGER.info(
            "Firmware %s confirmed in slot %s", manifest.version, trial.slot.name
        )
        return TrialResult(UpdateOutcome.UPDATED, str(manifest.version))

    def _self_check(self, slot: FirmwareSlot, pending: VerifiedManifest) -> bool:
        if self.fail_next_self_check:
            self.fail_next_self_check = False
            return False
        try:
            self._check_slot(slot, pending)
        except FirmwareError, SlotIOError:
            return False
        return True

    def _fall_back(self, code: ErrorCode) -> TrialResult:
        trial = self.record.trial
        assert trial is not None
        self.record.trial = None
        self.record.slots.pop(trial.slot, None)
        self._abandon(UpdateOutcome.ROLLED_BACK, code)
        self._persist()
        _LOGGER.warning(
            "Firmware update rolled back (%s); running %s",
            code.value,
            self.running_version,
        )
        return TrialResult(UpdateOutcome.ROLLED_BACK, self.running_version, code.value)
