"""Pairing negative vectors of hello step 4: the decisions that depend on the lock's registry.

Part of ``make_spec_vectors``.  Whether a hello's key is already known, and
whether the label may still be used, depend on the lock's state, not on the
message; each vector states that state (registered keys, pending joins, the
button's window, open invitations) and its outcome is what the simulator's
real ``JoinDesk`` answers in that state, opened from its sealed answer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from custom_components.secure_lock.protocol import ControllerIdentity, Role, SuiteId
from custom_components.secure_lock.protocol.kem import KemPrivateKey
from custom_components.secure_lock.protocol.pairing_messages import (
    PairingHello,
    PairingMessageType,
)
from custom_components.secure_lock.protocol.pairing_seal import AnswerKey
from custom_components.secure_lock.protocol.registry import ControllerRecord
from custom_components.secure_lock.protocol.rng import DeterministicRng
from custom_components.secure_lock.protocol.setup_code import CodeSecret
from custom_components.secure_lock.protocol.spake2plus import derive_prover_secret
from device_sim.device_state import DeviceState
from device_sim.join_desk import JoinDesk
from device_sim.joining import Invitation
from device_sim.lock_services import LockServices
from device_sim.timing import LockTimers, ManualScheduler

if TYPE_CHECKING:
    from .spec_pairing_negative import PairingBase

type Json = dict[str, Any]

FAILURE_NOTICE = 0xFE
INVITATION_ID = bytes(range(0x10, 0x20))
INVITATION_PASSCODE = 0x2345678
INVITATION_DISCRIMINATOR = 0x21
"""The `invitation` entry's code; the step-4 positive control offers it."""
INVITATION_TTL_MS = 15 * 60 * 1000


@dataclass(frozen=True, slots=True)
class LockRegistry:
    """The lock state a step-4 vector states: who is known, what is open."""

    window_open: bool
    registered: tuple[tuple[ControllerIdentity, bool], ...] = ()
    """Registered keys and whether each is revoked."""
    invitation_open: bool = False


@dataclass(slots=True)
class _DeskLock:
    """The parts of the lock ``JoinDesk`` uses on a hello: its state and clock."""

    state: DeviceState
    time_ms: int

    def now_ms(self) -> int:
        return self.time_ms

    def persist(self) -> None:
        """Nothing to write: a hello changes no durable state."""


def _record(identity: ControllerIdentity, *, revoked: bool) -> ControllerRecord:
    suite = SuiteId.X25519_CHACHA20
    return ControllerRecord(
        identity.key_id,
        "",
        identity.public_bundle(suites=(suite,)),
        Role.ADMIN,
        suite,
        revoked=revoked,
    )


def _desk(base: PairingBase, registry: LockRegistry) -> JoinDesk:
    state = DeviceState()
    for identity, revoked in registry.registered:
        state.registry.add(_record(identity, revoked=revoked))
    if registry.invitation_open:
        invitation = Invitation(
            INVITATION_ID,
            CodeSecret(
                INVITATION_DISCRIMINATOR,
                derive_prover_secret(INVITATION_PASSCODE, base.lock.lock_id),
            ),
            Role.OPERATOR,
            0,
            0,
            base.time_ms + INVITATION_TTL_MS,
            bytes(16),
            "",
        )
        state.joins.invitations[invitation.invitation_id] = invitation
    pairing = base.lock_side()
    if not registry.window_open:
        pairing.close_window()
    lock = cast("LockServices", _DeskLock(state, base.time_ms))
    return JoinDesk(lock, base.lock.lock_id, pairing, LockTimers(ManualScheduler()))


def _answer(base: PairingBase, registry: LockRegistry, hello: bytes) -> bytes:
    """Return the lock's opened answer to ``hello`` in that state (empty: none)."""
    key = AnswerKey(
        KemPrivateKey(
            SuiteId.X25519_CHACHA20, DeterministicRng(base.seed + b"/step-4")(32)
        )
    )
    body = key.request(hello)
    sealed = _desk(base, registry).receive(body)
    return b"" if sealed is None else key.open(body, sealed)


def _state(registry: LockRegistry) -> Json:
    return {
        "window_open": registry.window_open,
        "failures": 0,
        "live_session_hello": None,
        "registered": [
            {"key_id": identity.key_id.hex(), "revoked": revoked}
            for identity, revoked in registry.registered
        ],
        "pending_joins": [],
        "invitations": [
            {
                "discriminator": INVITATION_DISCRIMINATOR,
                "passcode": INVITATION_PASSCODE,
                "held_by": None,
            }
        ]
        if registry.invitation_open
        else [],
    }


def _vector(
    base: PairingBase, check: str, name: str, hello: bytes, registry: LockRegistry
) -> Json:
    answer = _answer(base, registry, hello)
    vector: Json = {
        "check": check,
        "name": name,
        "receiver": "lock",
        "message": "hello",
        "state": _state(registry),
        "bytes": hello.hex(),
    }
    if answer[:1] == bytes([PairingMessageType.CHALLENGE]):
        return vector | {
            "error": None,
            "answer": "challenge",
            "challenge": answer.hex(),
        }
    if answer[:1] != bytes([FAILURE_NOTICE]):
        raise AssertionError(f"{name}: the lock did not answer")
    code = answer[1 + 32 + 32 + 1 : 1 + 32 + 32 + 1 + answer[1 + 32 + 32]]
    return vector | {"error": code.decode("ascii"), "answer": "signed_notice"}


def registry_vectors(base: PairingBase) -> list[Json]:
    """Return the step-4 vectors: known keys, the label outside factory state, an invitation."""
    owner = ControllerIdentity.generate(
        DeterministicRng(base.seed + b"/owner"),
        now_ms=base.time_ms,
        suites=(SuiteId.X25519_CHACHA20,),
    )
    invited = replace(
        PairingHello.from_bytes(base.hello), discriminator=INVITATION_DISCRIMINATOR
    ).to_bytes()
    has_owner = LockRegistry(window_open=True, registered=((owner, False),))
    return [
        _vector(
            base,
            "4 known key",
            "hello_with_a_registered_key",
            base.hello,
            LockRegistry(window_open=True, registered=((base.ctrl, False),)),
        ),
        _vector(
            base,
            "4 known key",
            "hello_with_a_revoked_key",
            base.hello,
            LockRegistry(window_open=True, registered=((base.ctrl, True),)),
        ),
        _vector(
            base,
            "4 label outside factory state",
            "label_hello_once_the_lock_has_an_owner",
            base.hello,
            has_owner,
        ),
        _vector(
            base,
            "4 label outside factory state",
            "invitation_hello_without_an_invitation",
            invited,
            has_owner,
        ),
        _vector(
            base,
            "4 label outside factory state",
            "invitation_hello_with_an_open_invitation",
            invited,
            replace(has_owner, invitation_open=True),
        ),
    ]
