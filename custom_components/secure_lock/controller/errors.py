"""Errors a controller meets, each with a stable code for translations."""

from __future__ import annotations

from ..protocol.errors import ErrorCode, SecureLockError
from ..protocol.messages import CommandResult, ResultCode

PAIRING_ERROR_KEYS = {
    ErrorCode.PAIRING_BUSY: "pairing_busy",
    ErrorCode.PAIRING_LOCKED_OUT: "pairing_locked_out",
    ErrorCode.IDENTITY_MISMATCH: "identity_mismatch",
    ErrorCode.CERTIFICATE_INVALID: "identity_mismatch",
    ErrorCode.BAD_MAC: "wrong_setup_code",
    ErrorCode.INVITATION_REQUIRED: "invitation_required",
    ErrorCode.ALREADY_PAIRED: "already_paired",
    ErrorCode.WRONG_RECIPIENT: "wrong_lock",
}
"""What the lock said during pairing, as the key of the sentence the user sees
(config flow errors in strings.json; the command-line client shows the same)."""


class ControllerError(SecureLockError):
    """Base of every controller-side failure; messages never contain secrets."""


class PairingFailed(ControllerError):
    """Pairing did not complete; `code` says why (closed window, mismatch, ...)."""

    def __init__(self, code: ErrorCode, message: str | None = None) -> None:
        """Keep the protocol's stable code."""
        super().__init__(message or code.value)
        self.code = code


class PairingTimedOut(ControllerError):
    """The lock did not answer a pairing step in time."""


class NoLockFound(ControllerError):
    """Through the relay, no lock with an open code for the typed digits answered."""


class NoRelayAccount(ControllerError):
    """Finding a lock through the relay needs a broker account to read the answers."""


class CommandRefused(ControllerError):
    """The lock answered, signed, that it did not do what was asked."""

    def __init__(self, result: CommandResult) -> None:
        """Keep the lock's signed result (its state is the truth to show)."""
        super().__init__(
            f"lock refused: {result.result.name.lower()} {result.reason}".strip()
        )
        self.result = result

    @property
    def code(self) -> ResultCode:
        """Return the lock's result code."""
        return self.result.result


class CommandTimeout(ControllerError):
    """No signed answer arrived in time; the lock may or may not have acted."""


class LinkUnavailable(ControllerError):
    """The transport to the lock is down."""
