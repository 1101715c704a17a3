"""One readable line for every expected failure of a `device_sim` command.

Where Home Assistant shows a sentence for the same failure (a refused
command, a failed pairing), the command line shows that sentence, read from
the integration's English translations; a bug still ends in a traceback.
"""

from __future__ import annotations

import errno
import functools
import json
from pathlib import Path
from typing import Any

from custom_components.secure_lock.controller import (
    PAIRING_ERROR_KEYS,
    CommandRefused,
    ControllerError,
    NoLockFound,
    NoRelayAccount,
    PairingFailed,
    PairingTimedOut,
)
from custom_components.secure_lock.protocol import ProtocolError
from custom_components.secure_lock.protocol.errors import ErrorCode
from custom_components.secure_lock.transport import TransportError

from . import PROG
from .admin import AdminError
from .broker import BrokerError
from .pki import PkiError
from .release_tool import ReleaseToolError
from .storage import StorageError

EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    ProtocolError,
    TransportError,
    ControllerError,
    AdminError,
    BrokerError,
    PkiError,
    ReleaseToolError,
    StorageError,
)
"""Failures a user can cause or meet (wrong input, nothing listening, a refusal)."""

_TRANSLATIONS = (
    Path(__file__).resolve().parent.parent
    / "custom_components"
    / "secure_lock"
    / "translations"
    / "en.json"
)

PAIRING_NO_ANSWER = (
    "The lock did not pair. If it is new or was reset, press its pairing button "
    f"({PROG} press-button --state-dir DIR) and pair within 2 minutes, and check "
    "that the setup code is this lock's; with an invitation code, check that it "
    "has not expired."
)
"""A lock does not answer a pairing it will not take (a closed window, another
lock's code): it is no oracle, so the link just closes."""

# Home Assistant's sentences tell the user to "select Submit": say them for a shell.
_PAIRING_TEXT = {
    "pairing_locked_out": "Pairing is locked after too many failed attempts. "
    "Press the lock's button to allow pairing again.",
    "pairing_failed": "Pairing failed. Press the button on the lock and try again.",
}


@functools.cache
def _english() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_TRANSLATIONS.read_text(encoding="utf-8"))
    return data


def _config_error(key: str) -> str:
    return str(_english()["config"]["error"][key])


def _exception_text(key: str) -> str | None:
    entry = _english()["exceptions"].get(key)
    if entry is None or "{" in entry["message"]:
        return None
    text: str = entry["message"]
    return text


def describe(err: BaseException) -> str:
    """Return one line that says what went wrong, without a traceback."""
    match err:
        case PairingFailed():
            key = PAIRING_ERROR_KEYS.get(err.code, "pairing_failed")
            return _PAIRING_TEXT.get(key) or _config_error(key)
        case PairingTimedOut():
            return PAIRING_NO_ANSWER
        case NoLockFound():
            return _config_error("no_lock_found")
        case NoRelayAccount():
            return _config_error("relay_needs_account")
        case CommandRefused():
            known = _exception_text(err.code.name.lower())
            if known is not None:
                return known
            reason = f"{err.code.name.lower()} {err.result.reason}".strip()
            return f"The lock refused: {reason}."
        case ProtocolError() if err.code is ErrorCode.INVALID_SETUP_CODE:
            return _config_error("invalid_setup_code")
        case OSError() if err.errno == errno.EADDRINUSE:
            return f"The address is already in use ({err.strerror or err})."
        case OSError() if err.filename is not None:
            return f"{err.filename}: {err.strerror or err}"
    return str(err) or type(err).__name__
