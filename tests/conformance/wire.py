"""Notation (docs/protocol.md section 0) and the registry of constants (section 0.3)."""

from __future__ import annotations

from dataclasses import dataclass


class VerificationError(Exception):
    """A check of the specification failed; ``code`` is the section 13 error code."""

    def __init__(self, code: str, message: str = "") -> None:
        """Keep the code the specification names for this failure."""
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


def fail(code: str, message: str = "") -> VerificationError:
    """Return the error for ``code`` (to be raised)."""
    return VerificationError(code, message)


MALFORMED = "malformed"
MAX_TEXT_BYTES = 64


class Reader:
    """Reads the encodings of section 0.2; any short read or bad value is ``malformed``."""

    def __init__(self, data: bytes) -> None:
        """Read ``data`` from its start."""
        self._data = bytes(data)
        self._pos = 0

    def take(self, size: int) -> bytes:
        """Read exactly ``size`` bytes."""
        end = self._pos + size
        if end > len(self._data):
            raise fail(MALFORMED, "truncated")
        out = self._data[self._pos : end]
        self._pos = end
        return out

    def uint(self, size: int) -> int:
        """Read an unsigned big-endian integer of ``size`` bytes."""
        return int.from_bytes(self.take(size), "big")

    def u8(self) -> int:
        """Read u8."""
        return self.uint(1)

    def u16(self) -> int:
        """Read u16."""
        return self.uint(2)

    def u32(self) -> int:
        """Read u32."""
        return self.uint(4)

    def u64(self) -> int:
        """Read u64."""
        return self.uint(8)

    def bytes8(self) -> bytes:
        """Read a u8 length and that many bytes."""
        return self.take(self.u8())

    def bytes16(self) -> bytes:
        """Read a u16 length and that many bytes."""
        return self.take(self.u16())

    def str8(self) -> str:
        """Read bytes8 holding UTF-8 of at most 64 bytes."""
        raw = self.bytes8()
        if len(raw) > MAX_TEXT_BYTES:
            raise fail(MALFORMED, "text longer than 64 bytes")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise fail(MALFORMED, "text is not UTF-8") from None

    def boolean(self) -> bool:
        """Read a bool: 0 or 1, nothing else."""
        value = self.u8()
        if value > 1:
            raise fail(MALFORMED, "boolean other than 0 or 1")
        return value == 1

    def enum(self, size: int, allowed: dict[int, str]) -> int:
        """Read an integer that must be one of ``allowed``."""
        value = self.uint(size)
        if value not in allowed:
            raise fail(MALFORMED, f"unknown value {value}")
        return value

    def end(self) -> None:
        """Require that nothing is left (no trailing bytes)."""
        if self._pos != len(self._data):
            raise fail(MALFORMED, "trailing bytes")


# Section 0.3: labels, exactly as hashed or signed (every one ends in NUL
# except the audit domain and the firmware signature context, as specified).
LABEL_KEY_ID = b"secure-lock/v1/key-id\x00"
LABEL_PREKEY_ID = b"secure-lock/v1/prekey-id\x00"
LABEL_PREKEY_SIGNATURE = b"secure-lock/v1/prekey\x00"
LABEL_ROUTE = b"secure-lock/v1/route\x00"
LABEL_FRAME_KEY = b"secure-lock/v1/frame-key\x00"
LABEL_ENVELOPE = b"secure-lock/v1/envelope\x00"
LABEL_AUDIT = b"secure-lock/audit/v1"
LABEL_RELEASE_KEY = b"secure-lock/v1/release-key\x00"
LABEL_FIRMWARE_TRANSFER = b"secure-lock/v1/firmware-transfer\x00"
FIRMWARE_CONTEXT = b"secure-lock/v1/firmware-manifest"
LABEL_FIRMWARE_MANIFEST = FIRMWARE_CONTEXT + b"\x00"


@dataclass(frozen=True)
class Suite:
    """A row of the suite table (section 5)."""

    suite_id: int
    kem_id: int
    kem_public_size: int
    kem_private_size: int
    enc_size: int
    payload_capacity: int

    @property
    def frame_size(self) -> int:
        """Header + enc + wrapped key + inner + signature + tag (section 8)."""
        inner = INNER_FIXED_SIZE + self.payload_capacity
        return HEADER_SIZE + self.enc_size + 48 + inner + 64 + 16


HEADER_SIZE = 26
INNER_FIXED_SIZE = 127
KDF_HKDF_SHA256 = 0x0001
AEAD_CHACHA20_POLY1305 = 0x0003
KEM_DHKEM_X25519 = 0x0020
KEM_XWING = 0x647A
SUITES = {
    1: Suite(1, KEM_DHKEM_X25519, 32, 32, 32, 384),
    2: Suite(2, KEM_XWING, 1216, 96, 1120, 1600),
}

KINDS = {
    0x0001: "LOCK",
    0x0002: "UNLOCK",
    0x0003: "OPEN",
    0x0004: "STATUS_REQUEST",
    0x0010: "COMMAND_RESULT",
    0x0011: "EVENT",
    0x0012: "HEARTBEAT",
    0x0020: "CONTROLLER_ADD",
    0x0021: "CONTROLLER_REMOVE",
    0x0022: "CONTROLLER_LIST",
    0x0023: "CONTROLLER_LIST_CHUNK",
    0x0024: "INVITATION_CREATE",
    0x0025: "INVITATION_REVOKE",
    0x0026: "CONTROLLER_JOINED",
    0x0030: "KEY_ROTATION",
    0x0031: "TIME_SYNC",
    0x0032: "SETTINGS",
    0x0040: "AUDIT_LOG_REQUEST",
    0x0041: "AUDIT_LOG_CHUNK",
    0x0050: "FIRMWARE_CHUNK",
    0x0051: "FIRMWARE_OFFER",
    0x0052: "FIRMWARE_STATUS_REQUEST",
    0x0053: "FIRMWARE_INSTALL",
    0x0054: "FIRMWARE_STATUS",
    0x0060: "KEYPAD_CODE_SET",
    0x0061: "KEYPAD_CODE_REMOVE",
    0x0062: "KEYPAD_CODE_LIST",
    0x0063: "KEYPAD_CODE_LIST_CHUNK",
    0x0064: "KEYPAD_CODE_SET_RESULT",
}
C2L, L2C = 1, 2
DIRECTIONS = {C2L: "controller to lock", L2C: "lock to controller"}
L2C_KINDS = {
    "COMMAND_RESULT",
    "EVENT",
    "HEARTBEAT",
    "CONTROLLER_LIST_CHUNK",
    "CONTROLLER_JOINED",
    "AUDIT_LOG_CHUNK",
    "FIRMWARE_STATUS",
    "KEYPAD_CODE_LIST_CHUNK",
    "KEYPAD_CODE_SET_RESULT",
}
BOTH_KINDS = {"KEY_ROTATION"}
RESPONSE_KINDS = {
    "COMMAND_RESULT",
    "CONTROLLER_LIST_CHUNK",
    "AUDIT_LOG_CHUNK",
    "FIRMWARE_STATUS",
    "KEYPAD_CODE_LIST_CHUNK",
    "KEYPAD_CODE_SET_RESULT",
}
SHORT_LIFETIME_KINDS = {"UNLOCK", "OPEN"}
SHORT_LIFETIME_MS = 30_000
LIFETIME_MS = 300_000
MAX_CLOCK_SKEW_MS = 5_000


def may_travel(kind: str, direction: int) -> bool:
    """Whether ``kind`` may be sent in ``direction`` (section 9 table)."""
    if kind in BOTH_KINDS:
        return True
    return (direction == L2C) == (kind in L2C_KINDS)


ROLES = {1: "admin", 2: "operator", 3: "guest"}
ROLE_KINDS = {
    "guest": {"LOCK", "UNLOCK", "OPEN", "STATUS_REQUEST", "KEY_ROTATION"},
}
ROLE_KINDS["operator"] = ROLE_KINDS["guest"] | {
    "TIME_SYNC",
    "AUDIT_LOG_REQUEST",
    "FIRMWARE_STATUS_REQUEST",
}
ROLE_KINDS["admin"] = ROLE_KINDS["operator"] | {
    "CONTROLLER_ADD",
    "CONTROLLER_REMOVE",
    "CONTROLLER_LIST",
    "INVITATION_CREATE",
    "INVITATION_REVOKE",
    "SETTINGS",
    "FIRMWARE_CHUNK",
    "FIRMWARE_OFFER",
    "FIRMWARE_INSTALL",
    "KEYPAD_CODE_SET",
    "KEYPAD_CODE_REMOVE",
    "KEYPAD_CODE_LIST",
}

BOLT_STATES = dict(
    enumerate(
        (
            "unknown",
            "locked",
            "unlocked",
            "locking",
            "unlocking",
            "open",
            "opening",
            "jammed",
        )
    )
)
DOOR_STATES = {0: "unknown", 1: "open", 2: "closed"}
RESULT_CODES = dict(
    enumerate(
        (
            "ok",
            "jammed",
            "door_open",
            "not_permitted",
            "busy",
            "unsupported",
            "invalid_request",
            "low_battery",
            "not_found",
            "internal_error",
            "revoked",
            "firmware_rejected",
        )
    )
)
EVENT_TYPES = {
    1: "state_changed",
    2: "jammed",
    3: "tamper",
    4: "low_battery",
    5: "firmware_updated",
    6: "firmware_rolled_back",
    7: "door_changed",
    8: "report",
}
EVENT_SOURCES = {
    0: "unknown",
    1: "controller",
    2: "manual",
    3: "keypad",
    4: "auto_relock",
}
JOIN_METHODS = {1: "label", 2: "invitation", 3: "admin_add"}
UPDATE_STATES = {0: "idle", 1: "receiving", 2: "ready", 3: "installing"}
UPDATE_OUTCOMES = {0: "none", 1: "updated", 2: "rolled_back", 3: "transfer_failed"}
FIRMWARE_SLOTS = {0: "A", 1: "B"}
PIN_CHOICES = {0: "keep", 1: "typed", 2: "generate"}
