"""The keypad's sealed state: codes as hashes (never PINs) and the wrong-PIN counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from custom_components.secure_lock.protocol.encoding import Reader, Writer
from custom_components.secure_lock.protocol.keypad_codes import KeypadSchedule
from custom_components.secure_lock.protocol.messages import KeypadCodeSummary

FREE_FAILURES = 5
FIRST_LOCKOUT_MS = 60_000
MAX_LOCKOUT_MS = 3_600_000


@dataclass(slots=True)
class KeypadCredential:
    """One code: its name, schedule and the hash of its PIN (never the PIN)."""

    slot: int
    name: str
    salt: bytes
    digest: bytes
    schedule: KeypadSchedule
    enabled: bool = True
    last_used_ms: int = 0
    refused_outside_schedule: int = 0

    def __repr__(self) -> str:
        """Name the code, never its hash."""
        return f"KeypadCredential(slot={self.slot}, name={self.name!r})"

    def summary(self) -> KeypadCodeSummary:
        """Return what an admin may see of this code."""
        return KeypadCodeSummary(
            self.slot,
            self.name,
            self.schedule,
            self.enabled,
            self.last_used_ms,
            self.refused_outside_schedule,
        )

    def to_json(self) -> dict[str, Any]:
        """Serialize (the sealed state holds it)."""
        return {
            "slot": self.slot,
            "name": self.name,
            "salt": self.salt.hex(),
            "digest": self.digest.hex(),
            "schedule": self.schedule.encode(Writer()).finish().hex(),
            "enabled": self.enabled,
            "last_used_ms": self.last_used_ms,
            "refused_outside_schedule": self.refused_outside_schedule,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeypadCredential:
        """Parse a saved code (errors surface as the state's corruption)."""
        reader = Reader(bytes.fromhex(data["schedule"]))
        schedule = KeypadSchedule.decode(reader)
        reader.done()
        return cls(
            int(data["slot"]),
            str(data["name"]),
            bytes.fromhex(data["salt"]),
            bytes.fromhex(data["digest"]),
            schedule,
            bool(data["enabled"]),
            int(data["last_used_ms"]),
            int(data["refused_outside_schedule"]),
        )


@dataclass(slots=True)
class KeypadBook:
    """The keypad's sealed state: its codes and its wrong-PIN counters."""

    codes: dict[int, KeypadCredential] = field(default_factory=dict)
    failures: int = 0
    """Wrong PINs in a row since the last correct one."""
    wrong_attempts: int = 0
    """Every wrong PIN since set-up (reported to admins)."""
    locked_until_ms: int = 0

    def to_json(self) -> dict[str, Any]:
        """Serialize (the sealed state holds it)."""
        return {
            "codes": [code.to_json() for code in self.codes.values()],
            "failures": self.failures,
            "wrong_attempts": self.wrong_attempts,
            "locked_until_ms": self.locked_until_ms,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeypadBook:
        """Parse the saved keypad state."""
        codes = [KeypadCredential.from_json(item) for item in data["codes"]]
        return cls(
            {code.slot: code for code in codes},
            int(data["failures"]),
            int(data["wrong_attempts"]),
            int(data["locked_until_ms"]),
        )

    def locked_out(self, now_ms: int) -> bool:
        """Return whether the keypad ignores PINs at ``now_ms``."""
        return now_ms < self.locked_until_ms


def lockout_ms(failures: int) -> int:
    """Return how long the ``failures``-th wrong PIN in a row locks the keypad."""
    if failures < FREE_FAILURES:
        return 0
    return min(FIRST_LOCKOUT_MS << min(failures - FREE_FAILURES, 16), MAX_LOCKOUT_MS)
