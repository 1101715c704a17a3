"""Secure Lock wire protocol: pairing, envelopes, keys (never imports Home Assistant).

High-level API (see docs/protocol.md for the byte layouts)::

    lock = LockIdentity.generate(rng)              # .to_bytes() / .from_bytes()
    ctrl = ControllerIdentity.generate(rng)
    code = SetupCode.generate(LockPin(lock.lock_id, lock.fingerprint), rng=rng)
    code.manual_code(), code.qr_text()             # the label
    SetupCode.parse(text)                          # 11 digits or the QR's text

    # Pairing: each step takes bytes and returns bytes.
    label = code.secret_for(lock.lock_id)          # the lock keeps w0, w1 only
    lp = LockPairing(lock, label, PairingAttempts())   # caller persists attempts
    lp.open_window(now_ms)                              # button press
    cp = ControllerPairing(ctrl, SetupCode.parse(text), "Home Assistant")
    challenge = lp.handle_hello(cp.start())
    proof = cp.handle_challenge(challenge)
    result, lock_outcome = lp.handle_proof(proof, Role.ADMIN)
    ctrl_outcome = cp.handle_result(result)
    registry.add(lock_outcome.record)                   # lock persists registry
    paired = ctrl_outcome.lock                          # controller persists PairedLock

    # Sessions.
    lock_ep = LockEndpoint(lock, registry)
    ctrl_ep = ControllerEndpoint(ctrl, paired)
    frame = ctrl_ep.seal(MessageKind.UNLOCK, Command())
    msg = lock_ep.open(frame)         # VerifiedMessage; persist registry, then act
    reply = lock_ep.respond(msg, CommandResult(...))
    ctrl_ep.open(reply)

Every failure is a ``ProtocolError`` with a stable ``ErrorCode``.

This module exports what a controller or a lock built on the protocol needs:
identities, pairing, sessions, the messages an application sends and reads,
the lock's signed state, and the errors.  Codecs for the other messages,
frame and chunk helpers, counters and the test-only ``DeterministicRng`` are
imported from their own modules.
"""

from .errors import (
    ErrorCode,
    MalformedError,
    PairingError,
    ProtocolError,
    SecureLockError,
    SetupCodeError,
)
from .firmware import (
    FirmwareError,
    FirmwareVersion,
    ReleasePublicKey,
    ReleaseSigningKey,
)
from .identity import ControllerIdentity, LockIdentity
from .keys import PublicKeyBundle
from .messages import (
    AuditEntry,
    Command,
    CommandResult,
    ControllerJoined,
    ControllerSummary,
    Event,
    EventSource,
    EventType,
    FirmwareStatus,
    Heartbeat,
    MessageKind,
    ResultCode,
)
from .pairing import (
    ControllerPairing,
    ControllerPairingOutcome,
    LockPairing,
    LockPairingOutcome,
    PairingAttempts,
)
from .registry import ControllerRecord, ControllerRegistry, PairedLock
from .rng import Clock, Rng, system_clock, system_rng
from .roles import Role
from .session import (
    ClockSkewError,
    ControllerEndpoint,
    LockEndpoint,
    RevokedError,
    UnauthorizedError,
    VerifiedMessage,
)
from .setup_code import CodeSecret, LockPin, SetupCode
from .state import BoltState, DoorState, LockStatus
from .suites import SuiteId, supported_suites

__all__ = [
    "CodeSecret",
    "LockPin",
    "AuditEntry",
    "BoltState",
    "Clock",
    "ClockSkewError",
    "Command",
    "CommandResult",
    "ControllerEndpoint",
    "ControllerIdentity",
    "ControllerJoined",
    "ControllerPairing",
    "ControllerPairingOutcome",
    "ControllerRecord",
    "ControllerRegistry",
    "ControllerSummary",
    "DoorState",
    "ErrorCode",
    "Event",
    "EventSource",
    "EventType",
    "FirmwareError",
    "FirmwareStatus",
    "FirmwareVersion",
    "Heartbeat",
    "LockEndpoint",
    "LockIdentity",
    "LockPairing",
    "LockPairingOutcome",
    "LockStatus",
    "MalformedError",
    "MessageKind",
    "PairedLock",
    "PairingAttempts",
    "PairingError",
    "ProtocolError",
    "SecureLockError",
    "PublicKeyBundle",
    "ReleasePublicKey",
    "ReleaseSigningKey",
    "ResultCode",
    "RevokedError",
    "Rng",
    "Role",
    "SetupCodeError",
    "SetupCode",
    "SuiteId",
    "UnauthorizedError",
    "VerifiedMessage",
    "supported_suites",
    "system_clock",
    "system_rng",
]
