"""The secret-free summary of a simulated lock that its admin channel reports.

Ids, names, counts and states only: no key material, no invitation
secret, no controller bundle, no keypad PIN or hash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .lock_device import LockDevice


def describe_lock(lock: LockDevice) -> dict[str, object]:
    """Return what the admin channel's status command shows."""
    status = lock.mechanism.status
    return {
        "lock_id": lock.lock_id.hex(),
        "model": lock.config.model,
        "firmware_version": lock.firmware.running_version,
        "firmware": {
            "state": lock.firmware.state.name.lower(),
            "active_slot": lock.state.firmware.active.name,
            "security_floor": lock.state.firmware.security_floor,
            "received": lock.state.firmware.transfer.received
            if lock.state.firmware.transfer
            else 0,
            "last_outcome": lock.state.firmware.last_outcome.name.lower(),
            "last_error": lock.state.firmware.last_error,
            "release_key": lock.state.firmware.release_key is not None,
            "rebooting": lock.rebooting,
        },
        "bolt": status.bolt.value,
        "door": status.door.value,
        "battery_percent": round(status.battery_percent, 2),
        "online": lock.online,
        "pairing_open": lock.pairing.is_open(),
        "pairing_failures": lock.state.pairing_attempts.failures,
        "pairing_locked_out": lock.state.pairing_attempts.is_locked_out(
            lock.config.lockout_threshold
        ),
        "controllers": [
            {
                "id": r.controller_id.hex(),
                "name": r.name,
                "role": r.role.name.lower(),
                "revoked": r.revoked,
                "high_water": r.high_water,
            }
            for r in lock.state.registry.records.values()
        ],
        "factory_state": not any(
            not r.revoked for r in lock.state.registry.records.values()
        ),
        "open_invitations": len(lock.state.joins.invitations),
        "pending_joins": len(lock.state.joins.pending),
        "keypad": {
            # Names and counters only: the lock holds no PIN to show.
            "codes": {
                str(code.slot): code.name for code in lock.state.keypad.codes.values()
            },
            "wrong_attempts": lock.state.keypad.wrong_attempts,
            "locked_out": lock.state.keypad.locked_out(lock.now_ms()),
        },
        "audit_entries": lock.state.audit.next_index,
        "audit_refusals_not_logged": {
            code.name.lower(): n
            for code, n in lock.state.audit.suppressed_refusals.items()
        },
        "rollback": None if lock.rollback is None else lock.rollback.describe(),
        "frames_refused_in_lockdown": lock.frames_refused_in_lockdown,
        "dropped_frames": {code.value: n for code, n in lock.dropped_frames.items()},
    }
