"""The controller side of Secure Lock over any transport: pair, command, listen.

Shared by Home Assistant's connection manager and the command-line
controller; like `protocol` and `transport`, it never imports Home Assistant.
"""

from .client import CommandOutcome, LockClient, LockReport, ReportKind
from .errors import (
    PAIRING_ERROR_KEYS,
    CommandRefused,
    CommandTimeout,
    ControllerError,
    LinkUnavailable,
    NoLockFound,
    NoRelayAccount,
    PairingFailed,
    PairingTimedOut,
)
from .firmware import (
    FirmwareRejected,
    FirmwareRelease,
    UpdatePhase,
    UpdateProgress,
    firmware_status,
    install_firmware,
    load_release,
    offer_firmware,
    send_firmware,
    update_firmware,
)
from .pairing import confirm_pairing, pair_over_link

__all__ = [
    "PAIRING_ERROR_KEYS",
    "CommandOutcome",
    "CommandRefused",
    "CommandTimeout",
    "ControllerError",
    "confirm_pairing",
    "FirmwareRejected",
    "FirmwareRelease",
    "LinkUnavailable",
    "LockClient",
    "LockReport",
    "NoLockFound",
    "NoRelayAccount",
    "PairingFailed",
    "PairingTimedOut",
    "ReportKind",
    "UpdatePhase",
    "UpdateProgress",
    "firmware_status",
    "install_firmware",
    "load_release",
    "offer_firmware",
    "pair_over_link",
    "send_firmware",
    "update_firmware",
]
