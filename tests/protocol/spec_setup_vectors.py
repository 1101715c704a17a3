"""Setup codes (section 6) and discovery (7.6) for the spec vectors.

Part of ``make_spec_vectors``: the code of the pairing runs with its QR
(the vector lock pinned, both capabilities), the invitation's code as typed
digits, and a probe for the runs' discriminator with the vector lock's
answer.  The runs' discriminator is a fixed one, not the lock id's
(section 6's label rule), so the vectors do not move with the lock id.
"""

from __future__ import annotations

from typing import Any

from custom_components.secure_lock.protocol import LockIdentity, LockPin, SetupCode
from custom_components.secure_lock.protocol.pairing_messages import (
    DiscoveryAnswer,
    DiscoveryProbe,
)

type Json = dict[str, Any]

PROBE_NONCE = bytes(range(16))
PROBE_ACCOUNT = "homeassistant-1"


def _code(name: str, code: SetupCode) -> Json:
    out: Json = {
        "name": name,
        "discriminator": code.discriminator,
        "passcode": code.passcode,
        "manual_code": code.manual_code(),
    }
    if code.pin is not None:
        out |= {
            "capabilities": int(code.pin.capabilities),
            "lock_id": code.pin.lock_id.hex(),
            "fingerprint": code.pin.fingerprint.hex(),
            "qr_text": code.qr_text(),
        }
    assert SetupCode.parse(code.manual_code()).passcode == code.passcode
    return out


def setup_code_vectors(
    lock: LockIdentity,
    pairing: tuple[int, int],
    invitation: tuple[int, int],
) -> list[Json]:
    """Return the pairing runs' code with its QR and the invitation's typed code."""
    pin = LockPin(lock.lock_id, lock.fingerprint)
    return [
        _code("pairing_code_qr", SetupCode(*pairing, pin)),
        _code("invitation_typed", SetupCode(*invitation)),
    ]


def discovery_vector(lock: LockIdentity, discriminator: int) -> Json:
    """Return a probe for ``discriminator`` and the vector lock's answer."""
    probe = DiscoveryProbe(discriminator, PROBE_NONCE, PROBE_ACCOUNT)
    answer = DiscoveryAnswer(PROBE_NONCE, lock.lock_id)
    assert DiscoveryProbe.from_bytes(probe.to_bytes()) == probe
    return {
        "discriminator": discriminator,
        "nonce": PROBE_NONCE.hex(),
        "reply_to": PROBE_ACCOUNT,
        "probe": probe.to_bytes().hex(),
        "answer": answer.to_bytes().hex(),
    }
