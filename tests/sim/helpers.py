"""Small shared test helpers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
import secrets
import socket

import aiohttp

from custom_components.secure_lock.protocol import Role, SetupCode
from custom_components.secure_lock.protocol.channel import Channel, wrap
from custom_components.secure_lock.protocol.envelope import PROTOCOL_VERSION, routing_id
from custom_components.secure_lock.protocol.messages import InvitationCreate
from custom_components.secure_lock.protocol.setup_code import discriminator_of
from custom_components.secure_lock.transport import WebSocketFrameLink
from device_sim.lock_device import LockDevice

CONDITION_TIMEOUT = 5.0
TEST_CONTROLLER_KEY_ID = bytes(range(0x40, 0x50))
"""The key id of the controller a raw test link stands for."""


def frame_to(
    lock_id: bytes, body: bytes, key_id: bytes = TEST_CONTROLLER_KEY_ID
) -> bytes:
    """Return a lock frame with an envelope's routing header for one controller.

    What a lock's link needs to find the recipient's topic; the rest is
    ``body``, opaque to the transport.
    """
    header = bytes((PROTOCOL_VERSION, 1)) + routing_id(lock_id, key_id)
    return wrap(Channel.ENVELOPE, header + body)


async def wait_until(condition: Callable[[], bool]) -> None:
    """Yield to the event loop until ``condition()`` holds; fail after a bounded wait.

    For state that real sockets and processes change, which offer no event
    to await; never used as a clock.
    """
    async with asyncio.timeout(CONDITION_TIMEOUT):
        while not condition():  # noqa: ASYNC110 - no event exists for these states
            await asyncio.sleep(0.005)


@asynccontextmanager
async def lan_link(url: str) -> AsyncIterator[WebSocketFrameLink]:
    """Connect a LAN link on an HTTP session of its own; both are closed on exit.

    A link borrows its session (Home Assistant lends its shared one), so a
    test that dials a lock is the session's owner.
    """
    async with aiohttp.ClientSession() as session:
        link = WebSocketFrameLink(url, session=session)
        await link.connect()
        try:
            yield link
        finally:
            await link.close()


class ManualClock:
    """A monotonic clock that only moves when the test says so."""

    def __init__(self) -> None:
        """Start at an arbitrary fixed time."""
        self.now = 1000.0

    def __call__(self) -> float:
        """Return the current time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


def setup_for_next_controller(
    device: LockDevice, role: Role = Role.OPERATOR
) -> SetupCode:
    """Return a setup code that pairs one more controller with ``device``.

    A lock in factory state: its label (the caller presses the button).
    Otherwise the lock is made to hold an invitation for ``role``, as if an
    admin had created one; how admins really do that, and what the lock
    checks, is tested in tests/sim/test_access_lifecycle.py.  This only sets
    the scene for tests that need a second controller.
    """
    label = device.element.label_code
    if device.describe()["factory_state"]:
        return label
    now = device.now_ms()
    assert label.pin is not None
    label_discriminator = discriminator_of(device.lock_id)
    taken = {i.secret.discriminator for i in device.state.joins.invitations.values()}
    discriminator = next(
        d for d in range(64) if d != label_discriminator and d not in taken
    )
    code = SetupCode.generate(label.pin, discriminator)
    device.state.joins.create(
        InvitationCreate(
            secrets.token_bytes(16),
            code.secret_for(device.lock_id),
            role,
            0,
            0,
            now + 600_000,
        ),
        bytes(16),
        "test",
        now,
        label_discriminator=label_discriminator,
    )
    return code


def was_dialled(listener: socket.socket) -> bool:
    """Return whether a client connected to the (non-blocking) ``listener``."""
    try:
        conn, _address = listener.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


def full_step() -> float:
    """Draw 0 for a backoff: every delay is its whole exponential step, exactly."""
    return 0.0
