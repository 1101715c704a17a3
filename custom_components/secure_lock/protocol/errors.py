"""One exception hierarchy with stable, machine-readable error codes."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable codes; callers and logs match on these, never on messages."""

    MALFORMED = "malformed"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNSUPPORTED_SUITE = "unsupported_suite"
    WRONG_RECIPIENT = "wrong_recipient"
    WRONG_DIRECTION = "wrong_direction"
    UNKNOWN_SENDER = "unknown_sender"
    REVOKED = "revoked"
    UNKNOWN_PREKEY = "unknown_prekey"
    BAD_SIGNATURE = "bad_signature"
    BAD_MAC = "bad_mac"
    DECRYPT_FAILED = "decrypt_failed"
    REPLAYED = "replayed"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    LIFETIME_TOO_LONG = "lifetime_too_long"
    UNAUTHORIZED = "unauthorized"
    DOWNGRADE = "downgrade"
    UNSOLICITED_RESPONSE = "unsolicited_response"
    PAIRING_CLOSED = "pairing_closed"
    PAIRING_BUSY = "pairing_busy"
    PAIRING_LOCKED_OUT = "pairing_locked_out"
    ALREADY_PAIRED = "already_paired"
    INVITATION_REQUIRED = "invitation_required"
    UNEXPECTED_MESSAGE = "unexpected_message"
    IDENTITY_MISMATCH = "identity_mismatch"
    CERTIFICATE_INVALID = "certificate_invalid"
    INVALID_SETUP_CODE = "invalid_setup_code"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    INVALID_ARGUMENT = "invalid_argument"
    FIRMWARE_BAD_SIGNATURE = "firmware_bad_signature"
    FIRMWARE_HASH_MISMATCH = "firmware_hash_mismatch"
    FIRMWARE_WRONG_MODEL = "firmware_wrong_model"
    FIRMWARE_NOT_NEWER = "firmware_not_newer"
    FIRMWARE_ROLLBACK = "firmware_rollback"
    FIRMWARE_BASE_TOO_OLD = "firmware_base_too_old"
    FIRMWARE_NO_RELEASE_KEY = "firmware_no_release_key"
    FIRMWARE_NO_TRANSFER = "firmware_no_transfer"
    FIRMWARE_NOT_LOCKED = "firmware_not_locked"
    FIRMWARE_SELF_CHECK_FAILED = "firmware_self_check_failed"
    FIRMWARE_INTERRUPTED = "firmware_interrupted"
    FIRMWARE_STORAGE = "firmware_storage"
    FIRMWARE_BUSY = "firmware_busy"


class SecureLockError(Exception):
    """Root of every error the Home-Assistant-free packages raise.

    Protocol, transport and controller errors all derive from it, so a caller
    (Home Assistant's single translation point, the command-line client) can
    catch the library's failures in one clause and nothing else by accident.
    Messages never contain secrets.
    """


class ProtocolError(SecureLockError):
    """Base of every error the protocol raises; ``code`` is the stable part.

    Messages are written by this package only and never include key material,
    secrets or plaintext, so they are safe to log.
    """

    def __init__(self, code: ErrorCode, message: str | None = None) -> None:
        """Store the code and a human-readable, secret-free message."""
        self.code = code
        super().__init__(f"{code.value}: {message}" if message else code.value)


class MalformedError(ProtocolError):
    """Bytes that do not parse as the expected structure."""

    def __init__(self, message: str | None = None) -> None:
        """Create a ``malformed`` error."""
        super().__init__(ErrorCode.MALFORMED, message)


class PairingError(ProtocolError):
    """Any failure during pairing."""


class SetupCodeError(ProtocolError):
    """A setup code or URI that cannot be parsed."""

    def __init__(self, message: str) -> None:
        """Create an ``invalid_setup_code`` error."""
        super().__init__(ErrorCode.INVALID_SETUP_CODE, message)
