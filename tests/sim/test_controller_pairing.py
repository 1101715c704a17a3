"""Controller pairing over a link: noise on the path is skipped, real refusals reported.

The scripted lock answers as the simulator's does: it reads the answer key in
front of each message and seals its answer to it (`pairing_seal`).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from custom_components.secure_lock.controller import (
    LinkUnavailable,
    PairingFailed,
    PairingTimedOut,
    pair_over_link,
)
from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    ErrorCode,
    LockIdentity,
    LockPairing,
    LockPin,
    PairingAttempts,
    Role,
    SetupCode,
)
from custom_components.secure_lock.protocol.channel import (
    Channel,
    encode_signed_failure,
    unwrap,
    wrap,
)
from custom_components.secure_lock.protocol.pairing import ControllerPairingOutcome
from custom_components.secure_lock.protocol.pairing_messages import (
    PairingHello,
    PairingMessageType,
)
from custom_components.secure_lock.protocol.pairing_seal import (
    SEALED_ANSWER_SIZE,
    PairingRequest,
    seal_answer,
)
from custom_components.secure_lock.protocol.rng import DeterministicRng
from custom_components.secure_lock.transport import (
    DeliveryUnknown,
    LinkClosed,
    NotConnected,
)
from custom_components.secure_lock.transport.link import FrameLink

T0 = 1_800_000_000_000

type Responder = Callable[[bytes], list[bytes]]


class ScriptedLink(FrameLink):
    """An in-memory link: every sent frame is answered by ``responder``."""

    def __init__(
        self,
        responder: Responder,
        *,
        send_error: bool = False,
        close_after_send: bool = False,
        unacknowledged: bool = False,
    ) -> None:
        """Answer with ``responder``; optionally fail sends or close once sent.

        ``unacknowledged``: each frame is delivered and answered, and then
        the send fails as if the broker's acknowledgement had been lost.
        """
        super().__init__()
        self._responder = responder
        self._send_error = send_error
        self._close_after_send = close_after_send
        self._unacknowledged = unacknowledged
        self.sent: list[bytes] = []

    @property
    def connected(self) -> bool:
        """Return True until closed."""
        return not self.closed

    async def send(self, frame: bytes, *, expiry_s: int | None = None) -> None:
        """Record ``frame`` and queue the scripted answers."""
        if self._send_error:
            raise NotConnected("no route")
        self._check_outgoing(frame)
        self.sent.append(frame)
        for answer in self._responder(frame):
            self._deliver(answer)
        if self._close_after_send:
            self._shut_inbox()
        if self._unacknowledged:
            raise DeliveryUnknown("connection lost: the acknowledgement")

    async def close(self) -> None:
        """End every pending receive."""
        self._shut_inbox()


class World:
    """A lock in pairing mode and a controller that knows its setup code."""

    def __init__(self) -> None:
        """Create both sides at T0."""
        self.rng = DeterministicRng(b"controller-pairing")
        self.lock = LockIdentity.generate(self.rng, now_ms=T0)
        self.controller = ControllerIdentity.generate(self.rng, now_ms=T0)
        self.setup = SetupCode.generate(
            LockPin(self.lock.lock_id, self.lock.fingerprint), rng=self.rng
        )
        self.lock_side = LockPairing(
            self.lock,
            self.setup.secret_for(self.lock.lock_id),
            PairingAttempts(),
            rng=self.rng,
            clock=lambda: T0,
        )
        self.lock_side.open_window(T0)
        self.steps = 0
        self.answers: list[bytes] = []
        """Every answer the lock gave, before sealing."""

    def lock_reply(self, frame: bytes) -> bytes:
        """Return the honest lock's sealed answer to one controller frame."""
        channel, body = unwrap(frame)
        assert channel is Channel.PAIRING
        request = PairingRequest.from_bytes(body)
        self.steps += 1
        if request.message[0] == PairingMessageType.HELLO:
            answer = self.lock_side.handle_hello(request.message, T0)
        else:
            answer, _ = self.lock_side.handle_proof(request.message, Role.ADMIN, T0)
        self.answers.append(answer)
        return wrap(Channel.PAIRING, seal_answer(request, answer))

    async def pair(
        self, link: FrameLink, timeout: float = 5.0, retransmit_interval: float = 2.0
    ) -> ControllerPairingOutcome:
        """Run the controller side over ``link``."""
        return await pair_over_link(
            link,
            self.controller,
            self.setup,
            "Home Assistant",
            timeout=timeout,
            rng=self.rng,
            clock=lambda: T0,
            retransmit_interval=retransmit_interval,
        )


def _seal_for(frame: bytes, message: bytes) -> bytes:
    """Seal ``message`` as an answer to ``frame``, as anyone who saw it could."""
    return wrap(
        Channel.PAIRING,
        seal_answer(PairingRequest.from_bytes(unwrap(frame)[1]), message),
    )


NOISE = [
    b"",  # no channel byte at all
    b"\x00junk",  # unknown channel
    wrap(Channel.ENVELOPE, b"not for pairing"),
    wrap(Channel.PAIRING, b"\xffpairing_closed"),  # an unsigned notice
    wrap(Channel.PAIRING, b"\xfe" + bytes(20)),  # a truncated signed notice
    wrap(Channel.PAIRING, b"\x01 not a pairing message"),
    wrap(Channel.PAIRING, bytes(SEALED_ANSWER_SIZE)),  # the size of an answer
]


async def test_noise_on_the_path_does_not_stop_pairing() -> None:
    """Frames a relay could inject before the lock's real reply are skipped."""
    world = World()
    link = ScriptedLink(lambda frame: [*NOISE, world.lock_reply(frame)])
    outcome = await world.pair(link)
    assert outcome.lock.lock_id == world.lock.lock_id
    assert world.steps == 2
    assert len(link.sent) == 2


def _hello_nonce(frame: bytes) -> bytes:
    return PairingHello.from_bytes(
        PairingRequest.from_bytes(unwrap(frame)[1]).message
    ).nonce


async def test_a_repeated_step_is_the_same_frame_and_gets_the_same_answer() -> None:
    """The lock's first answer is lost: the controller repeats its hello byte for byte.

    The lock answers the repeat with the same challenge (sealed afresh for
    the same frame), which the controller opens and pairing completes.
    """
    world = World()
    lost: list[bytes] = []

    def lose_first(frame: bytes) -> list[bytes]:
        answer = world.lock_reply(frame)
        if not lost:
            lost.append(answer)
            return []
        return [answer]

    link = ScriptedLink(lose_first)
    outcome = await world.pair(link, retransmit_interval=0.01)
    assert outcome.lock.lock_id == world.lock.lock_id
    assert len(link.sent) == 3
    assert link.sent[0] == link.sent[1]
    assert world.answers[0] == world.answers[1]
    assert len(lost[0]) == len(_seal_for(link.sent[1], world.answers[1]))


async def test_lock_refusal_is_reported_with_its_code() -> None:
    """A notice the lock signed over our hello ends pairing with its code."""
    world = World()

    def refuse(frame: bytes) -> list[bytes]:
        notice = world.lock_side.failure_notice(
            _hello_nonce(frame), ErrorCode.PAIRING_BUSY, T0
        )
        assert notice is not None
        return [_seal_for(frame, notice)]

    with pytest.raises(PairingFailed) as err:
        await world.pair(ScriptedLink(refuse))
    assert err.value.code is ErrorCode.PAIRING_BUSY
    assert world.steps == 0  # the lock never saw a proof


async def test_forged_and_replayed_refusals_do_not_end_pairing() -> None:
    """Notices not signed by the label's key over this hello are ignored.

    Forged (another key, or a bad signature) and replayed (an earlier hello's)
    notices arrive before the lock's real answers, sealed to the controller's
    answer key as anyone who saw its frame can; pairing still completes.
    """
    world = World()
    impostor = LockIdentity.generate(DeterministicRng(b"impostor"), now_ms=T0)
    earlier = world.lock_side.failure_notice(bytes(32), ErrorCode.BAD_MAC, T0)
    assert earlier is not None

    def forged(frame: bytes) -> list[bytes]:
        answers = [_seal_for(frame, earlier)]
        if world.steps == 0:
            nonce = _hello_nonce(frame)
            signed_elsewhere = encode_signed_failure(
                nonce,
                impostor.signing_key.public_key.raw,
                ErrorCode.PAIRING_LOCKED_OUT,
                impostor.signing_key.sign(b"anything"),
            )
            bad_signature = encode_signed_failure(
                nonce,
                world.lock.signing_key.public_key.raw,
                ErrorCode.PAIRING_LOCKED_OUT,
                bytes(64),
            )
            answers += [
                _seal_for(frame, signed_elsewhere),
                _seal_for(frame, bad_signature),
            ]
        return [*answers, world.lock_reply(frame)]

    outcome = await world.pair(ScriptedLink(forged))
    assert outcome.lock.lock_id == world.lock.lock_id


async def test_unreachable_lock_is_link_unavailable() -> None:
    """A send that fails, or a link that closes while waiting, is LinkUnavailable."""
    world = World()
    with pytest.raises(LinkUnavailable):
        await world.pair(ScriptedLink(world.lock_reply, send_error=True))
    closing = ScriptedLink(lambda _frame: [], close_after_send=True)
    with pytest.raises(LinkUnavailable) as err:
        await world.pair(closing)
    assert isinstance(err.value.__cause__, LinkClosed)
    assert world.steps == 0


async def test_silent_lock_times_out() -> None:
    """Without any pairing reply the controller gives up at its deadline."""
    world = World()
    link = ScriptedLink(lambda _frame: [wrap(Channel.ENVELOPE, b"chatter")])
    with pytest.raises(PairingTimedOut):
        await world.pair(link, timeout=0.05)
