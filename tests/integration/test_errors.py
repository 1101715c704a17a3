"""The one translation point: every library failure gets words the user can read."""

from __future__ import annotations

import json
from pathlib import Path
import re

from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.secure_lock.controller import (
    CommandRefused,
    CommandTimeout,
    FirmwareRejected,
    LinkUnavailable,
    PairingFailed,
    PairingTimedOut,
)
from custom_components.secure_lock.controller.connection import (
    LockUnreachable,
    PathFailure,
)
from custom_components.secure_lock.controller.links import LinkKind, LinkSettingsError
from custom_components.secure_lock.errors import (
    form_error,
    translate_errors,
    user_message,
)
from custom_components.secure_lock.firmware_source import (
    ReleaseChanged,
    ReleaseUnreadable,
)
from custom_components.secure_lock.protocol import (
    CommandResult,
    ErrorCode,
    ProtocolError,
    ResultCode,
    SecureLockError,
)
from custom_components.secure_lock.protocol.state import LockStatus
from custom_components.secure_lock.transport import (
    BrokerRefused,
    NotConnected,
    TlsFailure,
    TransportError,
)

STRINGS = json.loads(
    (
        Path(__file__).parents[2] / "custom_components/secure_lock/strings.json"
    ).read_text(encoding="utf-8")
)


def _refused(code: ResultCode) -> CommandRefused:
    return CommandRefused(
        CommandResult(
            result=code,
            reason="",
            status=LockStatus(),
            lock_time_ms=0,
            sender_high_water=0,
        )
    )


LIBRARY_ERRORS: list[SecureLockError] = [
    *(_refused(code) for code in ResultCode if code is not ResultCode.OK),
    *(FirmwareRejected(code) for code in ErrorCode if code.name.startswith("FIRMWARE")),
    *(PairingFailed(code) for code in ErrorCode),
    CommandTimeout("no answer"),
    PairingTimedOut("no answer"),
    LinkUnavailable("down"),
    LockUnreachable((PathFailure(LinkKind.LAN, "refused"),)),
    NotConnected("down"),
    TlsFailure("bad chain"),
    BrokerRefused("bad password"),
    TransportError("other"),
    LinkSettingsError("invalid_address", "no address"),
    LinkSettingsError("invalid_ca", "no CA"),
    ReleaseChanged(),
    ReleaseUnreadable(ErrorCode.FIRMWARE_HASH_MISMATCH),
    ProtocolError(ErrorCode.MALFORMED, "bad"),
]


@pytest.mark.parametrize("err", LIBRARY_ERRORS, ids=repr)
def test_every_library_error_has_translated_words(err: SecureLockError) -> None:
    """Whatever the library raises, both audiences get a sentence that exists."""
    message = user_message(err, "Front door")
    text = STRINGS["exceptions"][message.key]["message"]
    # Every placeholder the sentence uses is given.
    assert set(re.findall(r"{(\w+)}", text)) <= set(message.placeholders)
    assert form_error(err) in STRINGS["config"]["error"]


def test_the_lock_s_refusal_is_named_not_generalised() -> None:
    """A jam is a jam, a revoked key is revoked: not one vague "failed"."""
    assert user_message(_refused(ResultCode.JAMMED), "x").key == "jammed"
    assert user_message(_refused(ResultCode.REVOKED), "x").key == "revoked"
    unreachable = LockUnreachable(
        (
            PathFailure(LinkKind.LAN, "refused"),
            PathFailure(LinkKind.BROKER, "no answer"),
        )
    )
    assert user_message(unreachable, "x").placeholders == {
        "reason": "lan: refused; broker: no answer"
    }
    assert form_error(PairingFailed(ErrorCode.BAD_MAC)) == "wrong_setup_code"
    assert form_error(TlsFailure("x")) == "tls_failed"


class _Entity:
    lock_name = "Front door"

    @translate_errors
    async def run(self, err: Exception) -> None:
        raise err


async def test_decorator_translates_library_errors_only() -> None:
    """Library errors come out translated; anything else passes untouched."""
    with pytest.raises(HomeAssistantError) as caught:
        await _Entity().run(LinkUnavailable("down"))
    assert caught.value.translation_key == "not_connected"
    assert caught.value.translation_placeholders == {"name": "Front door"}
    assert isinstance(caught.value.__cause__, LinkUnavailable)
    with pytest.raises(KeyError):
        await _Entity().run(KeyError("not ours"))
