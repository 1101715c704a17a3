"""What the lock remembers about its firmware, saved inside the sealed state record.

It travels in the same atomic write as the counters and the registry, so a
crash leaves either the old or the new firmware state, never a mixture.  The
manufacturer release key is stored here once and never replaced; the
anti-rollback floor (``security_floor``) only ever goes up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from custom_components.secure_lock.protocol.messages import FirmwareSlot, UpdateOutcome


@dataclass(slots=True)
class SlotRecord:
    """The image a slot holds, as its (verified) manifest described it."""

    version: str
    security_version: int = 0
    size: int = 0
    sha256: bytes = b""
    """Empty for the factory image, which has no file to check."""

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "version": self.version,
            "security_version": self.security_version,
            "size": self.size,
            "sha256": self.sha256.hex(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SlotRecord:
        """Parse `to_json` output."""
        return cls(
            str(data["version"]),
            int(data["security_version"]),
            int(data["size"]),
            bytes.fromhex(data["sha256"]),
        )


@dataclass(slots=True)
class TransferRecord:
    """An accepted release being received into the inactive slot."""

    signed_manifest: bytes
    received: int = 0
    ready: bool = False
    """Every byte arrived and the image hash matched the manifest."""


@dataclass(slots=True)
class TrialRecord:
    """An installed image being booted for the first time (not yet confirmed)."""

    slot: FirmwareSlot
    boots: int = 0


@dataclass(slots=True)
class FirmwareRecord:
    """The lock's firmware state."""

    release_key: bytes | None = None
    security_floor: int = 0
    active: FirmwareSlot = FirmwareSlot.A
    slots: dict[FirmwareSlot, SlotRecord] = field(default_factory=dict)
    transfer: TransferRecord | None = None
    trial: TrialRecord | None = None
    last_outcome: UpdateOutcome = UpdateOutcome.NONE
    last_error: str = ""

    @property
    def inactive(self) -> FirmwareSlot:
        """Return the slot that is not running (where updates go)."""
        return FirmwareSlot.B if self.active is FirmwareSlot.A else FirmwareSlot.A

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        transfer = self.transfer
        return {
            "release_key": self.release_key.hex() if self.release_key else None,
            "security_floor": self.security_floor,
            "active": self.active.name,
            "slots": {slot.name: r.to_json() for slot, r in self.slots.items()},
            "transfer": None
            if transfer is None
            else {
                "manifest": transfer.signed_manifest.hex(),
                "received": transfer.received,
                "ready": transfer.ready,
            },
            "trial": None
            if self.trial is None
            else {"slot": self.trial.slot.name, "boots": self.trial.boots},
            "last_outcome": self.last_outcome.name,
            "last_error": self.last_error,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FirmwareRecord:
        """Parse `to_json` output (errors surface as ValueError/KeyError/TypeError)."""
        transfer = data["transfer"]
        trial = data["trial"]
        return cls(
            release_key=bytes.fromhex(data["release_key"])
            if data["release_key"]
            else None,
            security_floor=int(data["security_floor"]),
            active=FirmwareSlot[data["active"]],
            slots={
                FirmwareSlot[name]: SlotRecord.from_json(slot)
                for name, slot in data["slots"].items()
            },
            transfer=None
            if transfer is None
            else TransferRecord(
                bytes.fromhex(transfer["manifest"]),
                int(transfer["received"]),
                bool(transfer["ready"]),
            ),
            trial=None
            if trial is None
            else TrialRecord(FirmwareSlot[trial["slot"]], int(trial["boots"])),
            last_outcome=UpdateOutcome[data["last_outcome"]],
            last_error=str(data["last_error"]),
        )
