"""Find the lock a typed setup code is for, through the relay, by its discriminator.

Typed digits do not name a lock, and a relay routes by lock id.  The
controller asks every lock once (a probe on the discriminator's topic); the
locks that have an open code with that discriminator answer with their ids
on the controller's own answer topic.  Answers are unauthenticated and only
say where to try: the PAKE then proves which lock holds the code, and a
lock that shares the discriminator by chance fails it cleanly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
import contextlib

from ..protocol.errors import ProtocolError
from ..protocol.pairing_messages import (
    DISCOVERY_NONCE_SIZE,
    DiscoveryAnswer,
    DiscoveryProbe,
)
from ..protocol.rng import Rng, system_rng
from ..transport import MqttFrameLink, MqttRole
from ..transport.errors import LinkClosed
from ..transport.topics import DiscoveryTopics, is_account_name
from .errors import NoLockFound, NoRelayAccount, PairingFailed, PairingTimedOut
from .links import BrokerSettings, broker_link_config, broker_tls

ANSWER_WAIT = 2.0
"""How long answers are collected: locks answer at once, a relay adds milliseconds."""
MAX_CANDIDATES = 16


async def find_locks(
    broker: BrokerSettings,
    discriminator: int,
    *,
    wait: float = ANSWER_WAIT,
    rng: Rng = system_rng,
) -> list[bytes]:
    """Return the ids of the locks that answered, first answer first (at most 16).

    Raise `TransportError` when the broker cannot be reached.
    """
    account = broker.username
    if account is None or not is_account_name(account):
        raise NoRelayAccount("finding a lock through the relay needs a broker account")
    config = broker_link_config(
        broker,
        MqttRole.FINDER,
        DiscoveryTopics(discriminator, account),
        await asyncio.get_running_loop().run_in_executor(None, broker_tls, broker),
    )
    link = MqttFrameLink(config)
    await link.connect()
    nonce = rng(DISCOVERY_NONCE_SIZE)
    found: list[bytes] = []
    try:
        await link.send(DiscoveryProbe(discriminator, nonce, account).to_bytes())
        with contextlib.suppress(TimeoutError, LinkClosed):
            async with asyncio.timeout(wait):
                while len(found) < MAX_CANDIDATES:
                    _take_answer(await link.receive(), nonce, found)
    finally:
        await link.close()
    return found


def _take_answer(data: bytes, nonce: bytes, found: list[bytes]) -> None:
    """Add the lock an answer to our probe names; junk, repeats and others' answers add nothing."""
    try:
        answer = DiscoveryAnswer.from_bytes(data)
    except ProtocolError:
        return
    if answer.nonce == nonce and answer.lock_id not in found:
        found.append(answer.lock_id)


async def pair_with_a_candidate[T](
    candidates: Sequence[bytes], attempt: Callable[[bytes], Awaitable[T]]
) -> T:
    """Return the first candidate's successful ``attempt``, trying them in order.

    A refusal or silence from one candidate (another lock that shares the
    discriminator fails the PAKE cleanly) moves on to the next; when all
    fail, the first candidate's failure is raised, as the likeliest lock.
    """
    if not candidates:
        raise NoLockFound("no lock with an open code for this discriminator answered")
    first: PairingFailed | PairingTimedOut | None = None
    for lock_id in candidates:
        try:
            return await attempt(lock_id)
        except (PairingFailed, PairingTimedOut) as err:
            first = first or err
    assert first is not None
    raise first
