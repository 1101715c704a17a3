"""The controller side of Secure Lock over any transport: pair, command, listen.

Shared by Home Assistant's connection manager and the command-line
controller; like `protocol` and `transport`, it never imports Home Assistant.
"""

from .client import CommandOutcome, LockClient, LockUpdate, UpdateKind
from .errors import (
    CommandRefused,
    CommandTimeout,
    ControllerError,
    LinkUnavailable,
    PairingFailed,
    PairingTimedOut,
)
from .pairing import pair_over_link

__all__ = [
    "CommandOutcome",
    "CommandRefused",
    "CommandTimeout",
    "ControllerError",
    "LinkUnavailable",
    "LockClient",
    "LockUpdate",
    "PairingFailed",
    "PairingTimedOut",
    "UpdateKind",
    "pair_over_link",
]
