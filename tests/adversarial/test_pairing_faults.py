"""Pairing that strands nobody: junk and lost frames at every step, relay and LAN.

For every frame of a pairing (hello, challenge, proof, result, the confirming
request and the lock's answers to it), the attacker on the path drops it, or
injects junk around it; afterwards the lock's registry must hold exactly the
controller the controller side believes it is, with the role it was told.

The lock's answers are sealed to the controller's answer key; where the
attacker here uses what a challenge says, it is handed that key (a stronger
attacker than a relay, so the lock's robustness is checked as before).
"""

from __future__ import annotations

import os
import secrets

import pytest

from custom_components.secure_lock.controller import (
    PairingTimedOut,
    confirm_pairing,
    pair_over_link,
)
from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    LockIdentity,
    Role,
    SetupCode,
)
from custom_components.secure_lock.protocol.channel import (
    Channel,
    encode_signed_failure,
    wrap,
)
from custom_components.secure_lock.protocol.errors import ErrorCode, ProtocolError
from custom_components.secure_lock.protocol.kem import KemPrivateKey
from custom_components.secure_lock.protocol.pairing import ControllerPairing
from custom_components.secure_lock.protocol.pairing_messages import (
    PairingChallenge,
    PairingMessageType,
    PairingProof,
)
from custom_components.secure_lock.protocol.pairing_seal import (
    SEALED_ANSWER_SIZE,
    AnswerKey,
    PairingRequest,
    seal_answer,
)
from custom_components.secure_lock.protocol.rng import Rng, system_rng
from custom_components.secure_lock.protocol.setup_code import LockPin, discriminator_of
from custom_components.secure_lock.protocol.suites import SuiteId
from custom_components.secure_lock.transport.link import FrameLink
from device_sim.joining import FAILSAFE_MS
from tests.sim.helpers import wait_until

from .conftest import RelayedLock, Stage
from .hostile_relay import Direction, FramePath

FAST = {"retransmit_interval": 0.2}
CONFIRM = {"timeout": 10.0, "attempt_timeout": 0.5}


async def _path(
    stage: Stage, lock: RelayedLock, kind: str, identity: ControllerIdentity
) -> tuple[FrameLink, FramePath]:
    if kind == "relay":
        link = await stage.controller_link(lock, identity, pairing=True)
        return link, lock.relay
    proxy = await stage.lan_proxy(lock)
    return await stage.lan_link(proxy.url), proxy


def _drop_nth(path: FramePath, direction: Direction, nth: int) -> None:
    """Make the attacker drop the ``nth`` frame (1-based) going ``direction``."""
    original = path.intercept
    count = 0

    async def intercept(going: Direction, frame: bytes) -> None:
        nonlocal count
        if going is direction:
            count += 1
            if count == nth:
                return
        await original(going, frame)

    path.intercept = intercept  # type: ignore[method-assign]


def _registry(lock: RelayedLock) -> dict[bytes, Role]:
    return {
        cid: record.role
        for cid, record in lock.device.state.registry.records.items()
        if not record.revoked
    }


class RecordingRng:
    """System randomness that remembers what it gave (to hand the attacker a key)."""

    def __init__(self) -> None:
        """Start with nothing drawn."""
        self.drawn: list[bytes] = []

    def __call__(self, size: int) -> bytes:
        """Return ``size`` fresh random bytes and keep a copy."""
        out = os.urandom(size)
        self.drawn.append(out)
        return out


def _message_type(frame: bytes) -> int | None:
    """Return the pairing message type of a controller's pairing frame."""
    if frame[:1] != bytes((Channel.PAIRING,)):
        return None
    try:
        return PairingRequest.from_bytes(frame[1:]).message[0]
    except ProtocolError:
        return None


async def _pair_and_confirm(
    stage: Stage,
    lock: RelayedLock,
    link: FrameLink,
    identity: ControllerIdentity,
    rng: Rng = system_rng,
) -> tuple[ControllerIdentity, Role]:
    outcome = await pair_over_link(
        link,
        identity,
        lock.device.element.label_code,
        "Home Assistant",
        timeout=15,
        clock=stage.clock,
        rng=rng,
        **FAST,
    )
    await confirm_pairing(link, identity, outcome.lock, clock=stage.clock, **CONFIRM)
    return identity, outcome.role


@pytest.mark.parametrize("kind", ["relay", "lan"])
@pytest.mark.parametrize(
    ("direction", "nth"),
    [
        (Direction.DOWN, 1),  # hello
        (Direction.UP, 1),  # challenge
        (Direction.DOWN, 2),  # proof
        (Direction.UP, 2),  # result
        (Direction.DOWN, 3),  # the confirming request
        (Direction.UP, 3),  # the join notice
        (Direction.UP, 4),  # the answer to the confirming request
    ],
)
async def test_a_lost_frame_at_any_step_costs_time_not_the_pairing(
    stage: Stage, kind: str, direction: Direction, nth: int
) -> None:
    """The lock ends up with exactly our key, as admin, whichever frame is lost."""
    lock = await stage.start_lock()
    identity = stage.new_identity()
    link, path = await _path(stage, lock, kind, identity)
    _drop_nth(path, direction, nth)
    lock.device.press_button()
    identity, role = await _pair_and_confirm(stage, lock, link, identity)
    assert role is Role.ADMIN
    assert _registry(lock) == {identity.key_id: Role.ADMIN}
    assert lock.device.state.joins.pending == {}
    assert lock.device.state.pairing_attempts.failures == 0


def _junk_towards_lock(challenge: bytes | None) -> list[bytes]:
    anyone = AnswerKey.generate(system_rng)
    junk = [
        wrap(Channel.PAIRING, b""),
        wrap(Channel.PAIRING, secrets.token_bytes(40)),
        wrap(Channel.PAIRING, b"\x02" + secrets.token_bytes(600)),
        wrap(Channel.PAIRING, anyone.request(b"\x03" + secrets.token_bytes(400))),
        wrap(Channel.ENVELOPE, secrets.token_bytes(3000)),
    ]
    if challenge is not None:
        # A proof for the session in progress (right lock nonce) that the
        # hello's key did not sign: it must cost the real controller nothing.
        nonce = PairingChallenge.from_bytes(challenge).lock_nonce
        stranger = ControllerIdentity.generate()
        forged = PairingProof(
            nonce,
            secrets.token_bytes(32),
            secrets.token_bytes(32),
            stranger.public_bundle().prekeys[-1],
            secrets.token_bytes(81),
            secrets.token_bytes(64),
            secrets.token_bytes(32),
        )
        junk.append(wrap(Channel.PAIRING, anyone.request(forged.to_bytes())))
        # Another controller's hello in the middle of the session.
        parsed = PairingChallenge.from_bytes(challenge)
        guess = SetupCode(
            discriminator_of(parsed.lock_id),
            1,
            LockPin(parsed.lock_id, parsed.lock_key.key_id),
        )
        other = ControllerPairing(stranger, guess, "intruder")
        junk.append(wrap(Channel.PAIRING, anyone.request(other.start())))
    return junk


def _junk_towards_controller(hello: bytes | None) -> list[bytes]:
    impostor = LockIdentity.generate()
    junk = [
        wrap(Channel.PAIRING, b"\xffpairing_closed"),
        wrap(Channel.PAIRING, secrets.token_bytes(200)),
        wrap(Channel.PAIRING, secrets.token_bytes(SEALED_ANSWER_SIZE)),
    ]
    if hello is not None:
        # A refusal signed by another key, sealed to the hello's answer key
        # as anyone who saw the hello can.
        request = PairingRequest.from_bytes(hello[1:])
        notice = encode_signed_failure(
            hello[-32:],
            impostor.signing_key.public_key.raw,
            ErrorCode.BAD_MAC,
            impostor.signing_key.sign(b"x"),
        )
        junk.append(wrap(Channel.PAIRING, seal_answer(request, notice)))
    return junk


@pytest.mark.parametrize("kind", ["relay", "lan"])
async def test_junk_injected_at_every_step_changes_nothing(
    stage: Stage, kind: str
) -> None:
    """After every real frame the attacker injects junk both ways; pairing completes."""
    lock = await stage.start_lock()
    identity = stage.new_identity()
    link, path = await _path(stage, lock, kind, identity)
    original = path.intercept
    rng = RecordingRng()
    state: dict[str, bytes | None] = {"challenge": None, "hello": None}

    async def intercept(going: Direction, frame: bytes) -> None:
        await original(going, frame)
        hello = state["hello"]
        if going is Direction.DOWN and _message_type(frame) == PairingMessageType.HELLO:
            state["hello"] = hello = frame
        if (
            going is Direction.UP
            and hello is not None
            and state["challenge"] is None
            and frame[:1] == bytes((Channel.PAIRING,))
        ):
            # The attacker is handed the attempt's answer key (the first draw).
            key = AnswerKey(KemPrivateKey(SuiteId.X25519_CHACHA20, rng.drawn[0]))
            assert key.public_key.raw == hello[1:33]
            answer = key.open(hello[1:], frame[1:])
            assert answer[0] == PairingMessageType.CHALLENGE
            state["challenge"] = answer
        for junk in _junk_towards_lock(state["challenge"]):
            await path.inject(Direction.DOWN, junk)
        for junk in _junk_towards_controller(state["hello"]):
            await path.inject(Direction.UP, junk)

    path.intercept = intercept  # type: ignore[method-assign]
    lock.device.press_button()
    identity, role = await _pair_and_confirm(stage, lock, link, identity, rng)
    assert state["challenge"] is not None
    assert role is Role.ADMIN
    assert _registry(lock) == {identity.key_id: Role.ADMIN}
    assert lock.device.state.pairing_attempts.failures == 0


@pytest.mark.parametrize("kind", ["relay", "lan"])
async def test_a_pairing_the_controller_never_learned_of_is_forgotten(
    stage: Stage, kind: str
) -> None:
    """Every answer after the proof is lost: no record survives the fail-safe."""
    lock = await stage.start_lock()
    identity = stage.new_identity()
    link, path = await _path(stage, lock, kind, identity)
    original = path.intercept
    proofs = 0

    async def intercept(going: Direction, frame: bytes) -> None:
        nonlocal proofs
        if going is Direction.DOWN and _message_type(frame) == PairingMessageType.PROOF:
            proofs += 1
        if going is Direction.UP and proofs:
            return
        await original(going, frame)

    path.intercept = intercept  # type: ignore[method-assign]
    lock.device.press_button()
    with pytest.raises(PairingTimedOut):
        await _pair_and_confirm(stage, lock, link, identity)
    stage.advance(FAILSAFE_MS / 1000 + 1)
    await path.inject(Direction.DOWN, wrap(Channel.ENVELOPE, b"wake up"))
    await wait_until(lambda: _registry(lock) == {})
    await lock.reboot()
    assert _registry(lock) == {}
    assert lock.device.describe()["factory_state"]
