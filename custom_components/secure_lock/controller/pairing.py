"""Pairing with a lock over any frame link."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import logging
import time

from cryptography import x509

from ..protocol.channel import Channel, decode_pairing_failure, unwrap, wrap
from ..protocol.errors import ErrorCode, PairingError, ProtocolError
from ..protocol.identity import ControllerIdentity
from ..protocol.pairing import ControllerPairing, ControllerPairingOutcome
from ..protocol.rng import Clock, Rng, system_clock, system_rng
from ..protocol.setup_payload import SetupPayload
from ..transport.errors import TransportError
from ..transport.link import FrameLink
from .errors import LinkUnavailable, PairingFailed, PairingTimedOut

_LOGGER = logging.getLogger(__name__)

DEFAULT_PAIRING_TIMEOUT = 30.0

# A reply that does not even parse may be noise injected on the path; keep
# waiting for the lock's real one.  Anything else is an answer to report.
_IGNORABLE = frozenset({ErrorCode.MALFORMED, ErrorCode.UNEXPECTED_MESSAGE})


async def pair_over_link(
    link: FrameLink,
    identity: ControllerIdentity,
    setup: SetupPayload,
    name: str,
    *,
    timeout: float = DEFAULT_PAIRING_TIMEOUT,
    manufacturer_ca: x509.Certificate | None = None,
    rng: Rng = system_rng,
    clock: Clock = system_clock,
) -> ControllerPairingOutcome:
    """Run the signed-challenge pairing; raise PairingFailed with a stable code."""
    pairing = ControllerPairing(
        identity, setup, name, manufacturer_ca=manufacturer_ca, rng=rng, clock=clock
    )
    deadline = time.monotonic() + timeout
    await _send(link, pairing.start())
    proof = await _answer(link, deadline, pairing.handle_challenge)
    await _send(link, proof)
    return await _answer(link, deadline, pairing.handle_result)


async def _send(link: FrameLink, body: bytes) -> None:
    try:
        await link.send(wrap(Channel.PAIRING, body))
    except TransportError as err:
        raise LinkUnavailable(f"cannot reach the lock: {type(err).__name__}") from err


async def _answer[T](link: FrameLink, deadline: float, step: Callable[[bytes], T]) -> T:
    """Feed pairing replies to `step` until one is accepted or refused for real."""
    while True:
        body = await _next_pairing_body(link, deadline)
        try:
            failure = decode_pairing_failure(body)
        except ProtocolError:
            continue
        if failure is not None:
            raise PairingFailed(failure, f"the lock refused pairing: {failure.value}")
        try:
            return step(body)
        except PairingError as err:
            if err.code in _IGNORABLE:
                _LOGGER.debug("Ignored an unparsable pairing reply")
                continue
            raise PairingFailed(err.code, str(err)) from None


async def _next_pairing_body(link: FrameLink, deadline: float) -> bytes:
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise PairingTimedOut("the lock did not answer in time")
        try:
            async with asyncio.timeout(remaining):
                frame = await link.receive()
        except TimeoutError:
            continue
        except TransportError as err:
            raise LinkUnavailable("the link to the lock closed") from err
        try:
            channel, body = unwrap(frame)
        except ProtocolError:
            continue
        if channel is Channel.PAIRING:
            return body
