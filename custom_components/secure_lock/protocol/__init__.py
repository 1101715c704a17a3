"""Secure Lock wire protocol: pairing, envelopes, keys (never imports Home Assistant).

High-level API (see docs/protocol.md for the byte layouts)::

    lock = LockIdentity.generate(rng)              # .to_bytes() / .from_bytes()
    ctrl = ControllerIdentity.generate(rng)
    label = SetupPayload.generate(lock, rng)       # .to_uri(), .to_code()
    SetupPayload.parse(text)                       # URI or typed code

    # Pairing: each step takes bytes and returns bytes.
    lp = LockPairing(lock, label, PairingAttempts())   # caller persists attempts
    lp.open_window(now_ms)                              # button press
    cp = ControllerPairing(ctrl, SetupPayload.parse(text), "Home Assistant")
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
"""

from .chunking import (
    ChunkAssembler,
    chunk_controller_list,
    firmware_chunk_capacity,
    split_firmware,
)
from .envelope import PROTOCOL_VERSION, frame_size, routing_id
from .errors import (
    ErrorCode,
    MalformedError,
    PairingError,
    ProtocolError,
    SetupCodeError,
)
from .firmware import (
    FirmwareError,
    FirmwareManifest,
    FirmwareVersion,
    ReleasePublicKey,
    ReleaseSigningKey,
    SignedManifest,
    VerifiedManifest,
    check_update,
    verify_manifest,
    verify_release,
)
from .identity import ControllerIdentity, LockIdentity, PrekeyPolicy
from .keys import IdentityPublicKey, PublicKeyBundle, SignedPrekey, key_id
from .messages import (
    KIND_INFO,
    AuditEntry,
    AuditLogChunk,
    AuditLogRequest,
    Command,
    CommandResult,
    ControllerAdd,
    ControllerJoined,
    ControllerListChunk,
    ControllerListRequest,
    ControllerRemove,
    ControllerSummary,
    Direction,
    Event,
    EventSource,
    EventType,
    FirmwareChunk,
    FirmwareInstall,
    FirmwareSlot,
    FirmwareStatus,
    FirmwareStatusRequest,
    Heartbeat,
    InvitationCreate,
    InvitationRevoke,
    JoinMethod,
    KeyRotation,
    MessageKind,
    Payload,
    ResultCode,
    Settings,
    TimeSync,
    UpdateOutcome,
    UpdateState,
)
from .pairing import (
    ControllerPairing,
    ControllerPairingOutcome,
    LockPairing,
    LockPairingOutcome,
    PairingAttempts,
)
from .permissions import ROLE_PERMISSIONS, may_send
from .registry import ControllerRecord, ControllerRegistry, PairedLock
from .replay import CounterStore, next_counter
from .rng import Clock, DeterministicRng, Rng, system_clock, system_rng
from .roles import Role
from .session import (
    MAX_CLOCK_SKEW_MS,
    ClockSkewError,
    ControllerEndpoint,
    LockEndpoint,
    RevokedError,
    UnauthorizedError,
    VerifiedMessage,
)
from .setup_payload import SetupPayload
from .state import BoltState, DoorState, LockStatus
from .suites import SuiteId, choose_suite, supported_suites

__all__ = [
    "KIND_INFO",
    "MAX_CLOCK_SKEW_MS",
    "PROTOCOL_VERSION",
    "ROLE_PERMISSIONS",
    "AuditEntry",
    "AuditLogChunk",
    "AuditLogRequest",
    "ChunkAssembler",
    "Clock",
    "Command",
    "CommandResult",
    "ControllerAdd",
    "ControllerJoined",
    "ControllerEndpoint",
    "ControllerIdentity",
    "ControllerListChunk",
    "ControllerListRequest",
    "ControllerPairing",
    "ControllerPairingOutcome",
    "ControllerRecord",
    "ControllerRegistry",
    "ControllerRemove",
    "ControllerSummary",
    "CounterStore",
    "DeterministicRng",
    "Direction",
    "DoorState",
    "ErrorCode",
    "Event",
    "EventSource",
    "EventType",
    "FirmwareChunk",
    "FirmwareError",
    "FirmwareInstall",
    "FirmwareManifest",
    "FirmwareSlot",
    "FirmwareStatus",
    "FirmwareStatusRequest",
    "FirmwareVersion",
    "Heartbeat",
    "InvitationCreate",
    "InvitationRevoke",
    "JoinMethod",
    "IdentityPublicKey",
    "KeyRotation",
    "LockEndpoint",
    "LockIdentity",
    "LockPairing",
    "LockPairingOutcome",
    "BoltState",
    "LockStatus",
    "MalformedError",
    "MessageKind",
    "PairedLock",
    "PairingAttempts",
    "PairingError",
    "Payload",
    "PrekeyPolicy",
    "ProtocolError",
    "PublicKeyBundle",
    "ReleasePublicKey",
    "ReleaseSigningKey",
    "ResultCode",
    "ClockSkewError",
    "RevokedError",
    "Rng",
    "Role",
    "SetupCodeError",
    "SetupPayload",
    "Settings",
    "SignedManifest",
    "SignedPrekey",
    "SuiteId",
    "TimeSync",
    "UnauthorizedError",
    "UpdateOutcome",
    "UpdateState",
    "VerifiedManifest",
    "VerifiedMessage",
    "check_update",
    "choose_suite",
    "chunk_controller_list",
    "firmware_chunk_capacity",
    "frame_size",
    "key_id",
    "may_send",
    "next_counter",
    "routing_id",
    "split_firmware",
    "supported_suites",
    "system_clock",
    "system_rng",
    "verify_manifest",
    "verify_release",
]
