"""Pairing with a lock over any frame link."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import logging
import time

from cryptography import x509

from ..protocol.channel import Channel, unwrap, wrap
from ..protocol.errors import ErrorCode, PairingError, ProtocolError
from ..protocol.identity import ControllerIdentity
from ..protocol.messages import Command, CommandResult, MessageKind
from ..protocol.pairing import ControllerPairing, ControllerPairingOutcome
from ..protocol.pairing_seal import AnswerKey
from ..protocol.registry import PairedLock
from ..protocol.rng import Clock, Rng, system_clock, system_rng
from ..protocol.setup_code import SetupCode
from ..transport.errors import TransportError
from ..transport.link import FrameLink
from .client import LockClient
from .errors import CommandTimeout, LinkUnavailable, PairingFailed, PairingTimedOut

_LOGGER = logging.getLogger(__name__)

DEFAULT_PAIRING_TIMEOUT = 30.0
RETRANSMIT_INTERVAL = 2.0
"""A step unanswered this long is sent again; the lock answers a repeat identically."""
CONFIRM_ATTEMPT_TIMEOUT = 5.0

# Frames that say nothing about the lock on the label: not worth naming if
# the pairing times out.
_NOISE = frozenset(
    {ErrorCode.MALFORMED, ErrorCode.UNEXPECTED_MESSAGE, ErrorCode.REPLAYED}
)


async def pair_over_link(
    link: FrameLink,
    identity: ControllerIdentity,
    code: SetupCode,
    name: str,
    *,
    timeout: float = DEFAULT_PAIRING_TIMEOUT,
    manufacturer_ca: x509.Certificate | None = None,
    rng: Rng = system_rng,
    clock: Clock = system_clock,
    retransmit_interval: float = RETRANSMIT_INTERVAL,
) -> ControllerPairingOutcome:
    """Run the PAKE pairing with the lock at the other end of ``link``.

    Raise PairingFailed with a stable code.

    Only the lock's signed answers move the exchange on or end it: anything
    else on the pairing channel (noise, forged refusals, another lock's
    challenge) is ignored, and a step nobody answers is sent again, so a lost
    or injected frame costs time, never the pairing.  The lock records the
    controller only provisionally; call `confirm_pairing` next.

    The lock seals its answers to a key of this attempt only (`pairing_seal`),
    so the relay cannot read them; an answer that does not open is noise.
    """
    pairing = ControllerPairing(
        identity, code, name, manufacturer_ca=manufacturer_ca, rng=rng, clock=clock
    )
    exchange = _Exchange(
        link,
        pairing,
        AnswerKey.generate(rng),
        time.monotonic() + timeout,
        retransmit_interval,
    )
    challenge = await exchange.run(pairing.start(), pairing.check_challenge)
    # scrypt (about 0.15 s) must not stall the event loop.
    secret = await asyncio.to_thread(code.secret_for, challenge.lock_id)
    return await exchange.run(pairing.answer(secret), pairing.handle_result)


async def confirm_pairing(
    link: FrameLink,
    identity: ControllerIdentity,
    lock: PairedLock,
    *,
    timeout: float = DEFAULT_PAIRING_TIMEOUT,
    attempt_timeout: float = CONFIRM_ATTEMPT_TIMEOUT,
    rng: Rng = system_rng,
    clock: Clock = system_clock,
) -> CommandResult:
    """Make the pairing final: the lock keeps a new controller only once it hears from it.

    Any signed answer from the lock proves it now holds our record for good
    (a lock that never hears from a new controller forgets it after its
    fail-safe time, so no attempt leaves a record nobody knows about).
    """
    client = LockClient(link, identity, lock, rng=rng, clock=clock)
    await client.start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PairingTimedOut("the lock did not confirm the pairing in time")
            try:
                outcome = await client.request(
                    MessageKind.STATUS_REQUEST,
                    Command(),
                    timeout=min(attempt_timeout, remaining),
                )
            except CommandTimeout:
                continue
            return outcome.result
    finally:
        await client.close()


async def _send(link: FrameLink, body: bytes) -> None:
    try:
        await link.send(wrap(Channel.PAIRING, body))
    except TransportError as err:
        raise LinkUnavailable(f"cannot reach the lock: {type(err).__name__}") from err


class _Exchange:
    """Sends one pairing step until the lock's signed answer to it arrives."""

    def __init__(
        self,
        link: FrameLink,
        pairing: ControllerPairing,
        answer_key: AnswerKey,
        deadline: float,
        retransmit_interval: float,
    ) -> None:
        self._link = link
        self._pairing = pairing
        self._answer_key = answer_key
        self._deadline = deadline
        self._interval = retransmit_interval
        self._hint: ErrorCode | None = None

    async def run[T](self, message: bytes, step: Callable[[bytes], T]) -> T:
        """Send ``message`` (again as needed) until ``step`` accepts an answer."""
        # The same body every time: the lock answers a repeat identically,
        # and its answer is sealed for exactly this body.
        request = self._answer_key.request(message)
        await _send(self._link, request)
        resend_at = time.monotonic() + self._interval
        while True:
            now = time.monotonic()
            if now >= self._deadline:
                if self._hint is not None:
                    raise PairingFailed(
                        self._hint,
                        f"no valid answer from the lock ({self._hint.value})",
                    )
                raise PairingTimedOut("the lock did not answer in time")
            if now >= resend_at:
                await _send(self._link, request)
                resend_at = now + self._interval
                continue
            body = await _next_pairing_body(
                self._link, min(self._deadline, resend_at) - now
            )
            if body is None:
                continue
            try:
                answer = self._answer_key.open(request, body)
            except ProtocolError as err:
                # Not sealed for this step: noise, or an answer to another step.
                _LOGGER.debug("Ignored a pairing frame: %s", err.code.value)
                continue
            failure = self._pairing.check_failure(answer)
            if failure is not None:
                raise PairingFailed(
                    failure, f"the lock refused pairing: {failure.value}"
                )
            try:
                return step(answer)
            except PairingError as err:
                # Not the lock's answer to this step: a repeat, noise, or a
                # device that is not the lock on the label (remembered, so a
                # timeout can name it).
                if err.code not in _NOISE:
                    self._hint = err.code
                _LOGGER.debug("Ignored a pairing frame: %s", err.code.value)


async def _next_pairing_body(link: FrameLink, wait: float) -> bytes | None:
    """Return the next pairing-channel body, or None after ``wait`` seconds."""
    try:
        async with asyncio.timeout(wait):
            while True:
                try:
                    frame = await link.receive()
                except TransportError as err:
                    raise LinkUnavailable("the link to the lock closed") from err
                try:
                    channel, body = unwrap(frame)
                except ProtocolError:
                    continue
                if channel is Channel.PAIRING:
                    return body
    except TimeoutError:
        return None
