"""The simulated lock's mutable state, saved as one sealed record.

Everything that changes while the lock runs (controllers and their counter
high-water marks, the lock's own send counter, failed pairing proofs, the
mechanism, settings, the audit log) goes into one record, so a single atomic
write moves the lock from one consistent state to the next.  The keys live in
the secure element's own records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
from typing import Any

from custom_components.secure_lock.protocol.errors import ProtocolError
from custom_components.secure_lock.protocol.pairing import PairingAttempts
from custom_components.secure_lock.protocol.registry import ControllerRegistry

from .audit_log import AuditLog
from .firmware_record import FirmwareRecord
from .joining import JoinBook
from .keypad_book import KeypadBook
from .mechanism import BoltState, DoorState, MechanismStatus, Source
from .storage import SealedStore, StorageCorrupted

STATE_RECORD = "state"
STATE_VERSION = 1


@dataclass(slots=True)
class DeviceSettings:
    """Settings an admin or developer can change; not secret."""

    auto_relock_seconds: int = 0
    refuse_lock_when_door_open: bool = True


@dataclass(slots=True)
class DeviceState:
    """Everything the lock must remember across a power cut."""

    registry: ControllerRegistry = field(default_factory=ControllerRegistry)
    last_sent_counter: int = 0
    pairing_attempts: PairingAttempts = field(default_factory=PairingAttempts)
    mechanism: MechanismStatus = field(
        default_factory=lambda: MechanismStatus(
            BoltState.LOCKED, DoorState.CLOSED, 100.0, None
        )
    )
    settings: DeviceSettings = field(default_factory=DeviceSettings)
    audit: AuditLog = field(default_factory=AuditLog)
    firmware: FirmwareRecord = field(default_factory=FirmwareRecord)
    joins: JoinBook = field(default_factory=JoinBook)
    keypad: KeypadBook = field(default_factory=KeypadBook)

    def forget_for_factory_reset(self, audit_capacity: int) -> None:
        """Wipe controllers, invitations, pending joins, keypad codes, the audit log and settings.

        Former controllers are kept only as nameless, revoked keys, so that
        the lock can answer them with a signed refusal and they ask their
        user to pair again.  Keys, firmware and the mechanism are kept.
        """
        for controller_id in list(self.joins.pending):
            self.registry.records.pop(controller_id, None)
        for record in self.registry.records.values():
            record.revoked = True
            record.name = ""
        self.joins = JoinBook()
        self.keypad = KeypadBook()
        self.audit = AuditLog(audit_capacity)
        self.settings = DeviceSettings()
        self.pairing_attempts.failures = 0

    def to_bytes(self) -> bytes:
        """Serialize (the store seals it)."""
        data: dict[str, Any] = {
            "version": STATE_VERSION,
            "registry": self.registry.to_bytes().hex(),
            "last_sent_counter": self.last_sent_counter,
            "pairing_failures": self.pairing_attempts.failures,
            "mechanism": {
                "bolt": self.mechanism.bolt.value,
                "door": self.mechanism.door.value,
                "battery": self.mechanism.battery_percent,
                "source": self.mechanism.last_source.value
                if self.mechanism.last_source
                else None,
            },
            "settings": {
                "auto_relock_seconds": self.settings.auto_relock_seconds,
                "refuse_lock_when_door_open": self.settings.refuse_lock_when_door_open,
            },
            "audit": self.audit.to_json(),
            "firmware": self.firmware.to_json(),
            "joins": self.joins.to_json(),
            "keypad": self.keypad.to_json(),
        }
        return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> DeviceState:
        """Parse a saved state; anything inconsistent raises StorageCorrupted."""
        try:
            data = json.loads(raw)
        except ValueError:
            raise StorageCorrupted("state record is not JSON") from None
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise StorageCorrupted("state record has an unsupported version")
        try:
            mechanism = data["mechanism"]
            settings = data["settings"]
            return cls(
                registry=ControllerRegistry.from_bytes(bytes.fromhex(data["registry"])),
                last_sent_counter=int(data["last_sent_counter"]),
                pairing_attempts=PairingAttempts(int(data["pairing_failures"])),
                mechanism=MechanismStatus(
                    BoltState(mechanism["bolt"]),
                    DoorState(mechanism["door"]),
                    float(mechanism["battery"]),
                    Source(mechanism["source"]) if mechanism["source"] else None,
                ),
                settings=DeviceSettings(
                    int(settings["auto_relock_seconds"]),
                    bool(settings["refuse_lock_when_door_open"]),
                ),
                audit=AuditLog.from_json(data["audit"]),
                # Absent in states saved before firmware updates existed.
                firmware=FirmwareRecord.from_json(data["firmware"])
                if "firmware" in data
                else FirmwareRecord(),
                # Absent in states saved before invitations existed.
                joins=JoinBook.from_json(data["joins"])
                if "joins" in data
                else JoinBook(),
                # Absent in states saved before keypad codes existed.
                keypad=KeypadBook.from_json(data["keypad"])
                if "keypad" in data
                else KeypadBook(),
            )
        except (ValueError, KeyError, TypeError, ProtocolError) as err:
            raise StorageCorrupted(
                f"state record is inconsistent: {type(err).__name__}"
            ) from None


def load_state(store: SealedStore) -> DeviceState | None:
    """Return the saved state, or None before the first save."""
    raw = store.load(STATE_RECORD)
    return None if raw is None else DeviceState.from_bytes(raw)


def save_state(store: SealedStore, state: DeviceState) -> None:
    """Write the state durably (returns after fsync)."""
    store.save(STATE_RECORD, state.to_bytes())
