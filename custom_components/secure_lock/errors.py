"""The one place where the library's errors become what the user reads.

Every failure of the Home-Assistant-free packages derives from
`SecureLockError`.  Actions and entities raise them through `translate_errors`
(a decorator, as core's peblar and elgato do), which turns each into a
translated `HomeAssistantError`; forms ask `form_error` for the key of the
sentence shown under a field.  So one table per audience says which words go
with which failure, and no other module maps errors itself.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Protocol, cast

from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.update_coordinator import UpdateFailed

from .const import DOMAIN
from .controller import (
    PAIRING_ERROR_KEYS,
    CommandRefused,
    CommandTimeout,
    FirmwareRejected,
    LinkUnavailable,
    NoLockFound,
    NoRelayAccount,
    PairingFailed,
    PairingTimedOut,
)
from .controller.connection import LockUnreachable
from .controller.keypad import KeypadCodeNotFound
from .controller.links import LinkSettingsError
from .firmware_source import ReleaseChanged, ReleaseUnreadable
from .protocol import ErrorCode, ResultCode, SecureLockError
from .transport import BrokerRefused, TlsFailure, TransportError

_REFUSALS = {
    ResultCode.JAMMED: "jammed",
    ResultCode.DOOR_OPEN: "door_open",
    ResultCode.NOT_PERMITTED: "not_permitted",
    ResultCode.BUSY: "busy",
    ResultCode.LOW_BATTERY: "low_battery",
    ResultCode.REVOKED: "revoked",
    ResultCode.UNSUPPORTED: "unsupported",
}
"""What the lock refused, signed, as the sentence the user reads."""

_FIRMWARE_REFUSALS = {
    ErrorCode.FIRMWARE_BUSY: "firmware_busy",
    ErrorCode.FIRMWARE_NOT_LOCKED: "firmware_not_locked",
    ErrorCode.FIRMWARE_SELF_CHECK_FAILED: "firmware_rolled_back",
    ErrorCode.FIRMWARE_INTERRUPTED: "firmware_rolled_back",
    ErrorCode.FIRMWARE_NO_RELEASE_KEY: "firmware_no_release_key",
    ErrorCode.FIRMWARE_WRONG_MODEL: "firmware_wrong_model",
}


@dataclass(frozen=True, slots=True)
class UserMessage:
    """A translation key of the `exceptions` section and its placeholders."""

    key: str
    placeholders: dict[str, str] = field(default_factory=dict)

    def error(self) -> HomeAssistantError:
        """Return the translated error Home Assistant shows."""
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key=self.key,
            translation_placeholders=self.placeholders or None,
        )

    def update_failed(self) -> UpdateFailed:
        """Return the same as a failed refresh (entities unavailable, logged once)."""
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key=self.key,
            translation_placeholders=self.placeholders or None,
        )


def user_message(err: SecureLockError, lock_name: str) -> UserMessage:
    """Return what to tell the user about ``err`` (an action or entity failed)."""
    match err:
        case CommandRefused():
            return UserMessage(
                _REFUSALS.get(err.code, "refused"), {"reason": err.code.name.lower()}
            )
        case FirmwareRejected():
            return UserMessage(
                _FIRMWARE_REFUSALS.get(err.code, "firmware_rejected"),
                {"reason": err.code.value},
            )
        case CommandTimeout():
            return UserMessage("timeout")
        case KeypadCodeNotFound():
            return UserMessage("keypad_code_not_found")
        case ReleaseChanged():
            return UserMessage("release_changed")
        case ReleaseUnreadable():
            return UserMessage("release_unreadable", {"reason": err.code.value})
        case LockUnreachable():
            return UserMessage("cannot_connect", {"reason": str(err)})
        case LinkUnavailable() | TransportError():
            return UserMessage("not_connected", {"name": lock_name})
        case _:
            # E.g. an audit log whose hash chain does not verify.
            return UserMessage("protocol_error")


def form_error(err: SecureLockError) -> str:
    """Return the `config.error` key for ``err`` (a form could not go on)."""
    match err:
        case LinkSettingsError():
            return err.key
        case PairingFailed():
            return PAIRING_ERROR_KEYS.get(err.code, "pairing_failed")
        case PairingTimedOut() | CommandTimeout():
            return "timeout"
        case NoLockFound():
            return "no_lock_found"
        case NoRelayAccount():
            return "relay_needs_account"
        case BrokerRefused():
            return "invalid_auth"
        case TlsFailure():
            return "tls_failed"
        case _:
            return "cannot_connect"


class NamesALock(Protocol):
    """Something that can say which lock it is about (for the messages)."""

    @property
    def lock_name(self) -> str:
        """Return the lock's name as the user knows it."""
        ...


def translate_errors[F: Callable[..., Coroutine[Any, Any, Any]]](method: F) -> F:
    """Raise the library's errors out of ``method`` as translated Home Assistant errors.

    For methods of objects that name their lock (`NamesALock`): the
    coordinator's request runner and the entities.
    """

    @wraps(method)
    async def translated(self: NamesALock, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except SecureLockError as err:
            raise user_message(err, self.lock_name).error() from err

    return cast("F", translated)
