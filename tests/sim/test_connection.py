"""The connection without Home Assistant: first connect, revocation, stopping.

Failover between paths and the unreachable timer are tested with Home
Assistant driving the timers (tests/integration/test_failover.py); these
cover what any owner (the removal of an entry, the command line) relies on.
The backoff here is a millisecond, so a retry needs no clock to be moved.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import aiohttp
import pytest

from custom_components.secure_lock.controller import (
    CommandRefused,
    LockReport,
    ReportKind,
)
from custom_components.secure_lock.controller.connection import (
    ConnectionListener,
    ConnectionTimings,
    LockConnection,
    LockUnreachable,
    PathFailure,
)
from custom_components.secure_lock.controller.links import LinkKind, LinkSettings
from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    PairedLock,
    ResultCode,
    Role,
)
from custom_components.secure_lock.protocol.state import LockStatus
from device_sim.lock_runtime import LockRuntime, RuntimeOptions
from device_sim.ports import free_port
from tests.integration.conftest import FAST, SimLock, pair_controller

from .helpers import wait_until

QUICK = ConnectionTimings(answer_timeout=2.0, backoff_initial=0.001)


@dataclass
class Recorder(ConnectionListener):
    """Keeps what the connection reported, in order."""

    calls: list[str] = field(default_factory=list)
    updates: list[LockReport] = field(default_factory=list)

    def connection_made(self, path: LinkKind) -> None:
        """Record it."""
        self.calls.append(f"made {path.value}")

    def connection_lost(self) -> None:
        """Record it."""
        self.calls.append("lost")

    def controller_revoked(self) -> None:
        """Record it."""
        self.calls.append("revoked")

    def lock_updated(self, update: LockReport) -> None:
        """Record it."""
        self.updates.append(update)


@dataclass
class Paired:
    """A lock on the LAN and a controller paired with it."""

    lock: SimLock
    identity: ControllerIdentity
    paired_lock: PairedLock
    settings: LinkSettings
    session: aiohttp.ClientSession


@pytest.fixture
async def paired(tmp_path: Path) -> AsyncIterator[Paired]:
    """Run a lock on a fixed port (it can be restarted there) and pair with it."""
    runtime = LockRuntime(
        RuntimeOptions(
            state_dir=tmp_path / "lock",
            device=FAST,
            lan=("127.0.0.1", free_port()),
            admin_socket=False,
        )
    )
    await runtime.start()
    lock = SimLock(runtime)
    identity, outcome = await pair_controller(lock)
    async with aiohttp.ClientSession() as session:
        yield Paired(
            lock,
            identity,
            outcome.lock,
            LinkSettings(lock.device.lock_id, lan_url=lock.lan_url),
            session,
        )
    await lock.runtime.stop()


def _connection(paired: Paired, listener: ConnectionListener) -> LockConnection:
    return LockConnection(
        paired.settings,
        paired.identity,
        paired.paired_lock,
        listener,
        session=paired.session,
        timings=QUICK,
    )


async def _restart(paired: Paired) -> None:
    await paired.lock.runtime.stop()
    paired.lock.runtime = LockRuntime(paired.lock.runtime.options)
    await paired.lock.runtime.start()


async def test_connect_waits_for_a_signed_answer_and_keeps_one_path(
    paired: Paired,
) -> None:
    """Connecting twice gives the same client; the answer was reported first."""
    listener = Recorder()
    connection = _connection(paired, listener)
    client = await connection.connect()
    assert await connection.connect() is client
    assert connection.path is LinkKind.LAN
    assert listener.calls == ["made lan"]
    assert listener.updates and client.last_status is not None
    await connection.stop()
    assert connection.client is None
    assert connection.stopped


async def test_a_lock_that_is_not_there_is_unreachable_with_the_reason(
    paired: Paired,
) -> None:
    """No path: `LockUnreachable` names each path and what failed on it."""
    await paired.lock.runtime.stop()
    connection = _connection(paired, Recorder())
    with pytest.raises(LockUnreachable) as caught:
        await connection.connect()
    assert [failure.path for failure in caught.value.failures] == [LinkKind.LAN]
    assert str(caught.value).startswith("lan: ")
    assert connection.client is None


async def test_revoked_while_away_stops_retrying_and_says_so(paired: Paired) -> None:
    """Removed on the lock during an outage: one signed refusal ends the retries."""
    listener = Recorder()
    connection = _connection(paired, listener)
    client = await connection.connect()
    # As another admin would: the removal is stored, then the lock restarts.
    await client.remove_controller(paired.identity.key_id)
    await _restart(paired)
    await wait_until(lambda: listener.calls[-1:] == ["revoked"])
    assert listener.calls == ["made lan", "lost", "revoked"]
    assert connection.client is None
    assert connection.stopped
    await connection.stop()


async def test_revoked_at_the_first_connect_is_a_refusal(paired: Paired) -> None:
    """The owner hears the lock's own words, and nothing is kept open."""
    paired.lock.device.state.registry.revoke(paired.identity.key_id)
    connection = _connection(paired, Recorder())
    with pytest.raises(CommandRefused) as caught:
        await connection.connect()
    assert caught.value.code is ResultCode.REVOKED
    assert connection.client is None


async def test_reconnects_after_the_lock_restarts(paired: Paired) -> None:
    """The LAN connection drops with the lock; the next try finds it back."""
    listener = Recorder()
    connection = _connection(paired, listener)
    first = await connection.connect()
    await _restart(paired)
    await wait_until(lambda: listener.calls == ["made lan", "lost", "made lan"])
    assert connection.client is not first
    result = await connection.client.unlock(timeout=5)  # type: ignore[union-attr]
    assert result.result is ResultCode.OK
    await connection.stop()


async def test_stopping_during_an_outage_ends_the_retries(paired: Paired) -> None:
    """After stop nothing reconnects, even when the lock comes back."""
    listener = Recorder()
    connection = _connection(paired, listener)
    await connection.connect()
    await paired.lock.runtime.stop()
    await wait_until(lambda: listener.calls == ["made lan", "lost"])
    assert connection.reconnecting
    await connection.stop()
    assert not connection.reconnecting
    assert connection.client is None
    assert listener.calls == ["made lan", "lost"]


def test_a_listener_that_does_not_care_ignores_every_report() -> None:
    """The base listener is a valid owner: each report is accepted and dropped."""
    listener = ConnectionListener()
    listener.connection_made(LinkKind.LAN)
    listener.connection_lost()
    listener.lock_silent()
    listener.lock_unreachable(1.0, (PathFailure(LinkKind.LAN, "x"),))
    listener.controller_revoked()
    listener.clock_skew_seen(0)
    listener.lock_updated(LockReport(ReportKind.HEARTBEAT, LockStatus(), 0))
    assert str(PathFailure(LinkKind.BROKER, "no answer")) == "broker: no answer"


async def test_a_guest_outside_its_hours_gets_no_path(paired: Paired) -> None:
    """A signed refusal to read the state is a path failure, not a connection."""
    admin_connection = _connection(paired, Recorder())
    admin = await admin_connection.connect()
    guest = ControllerIdentity.generate()
    now_ms = admin.endpoint.lock_time()
    await admin.add_controller(
        guest.public_bundle(),
        "Yesterday's guest",
        Role.GUEST,
        valid_from_ms=now_ms - 7_200_000,
        valid_until_ms=now_ms - 3_600_000,
    )
    guest_lock = replace(paired.paired_lock, role=Role.GUEST, last_sent_counter=0)
    listener = Recorder()
    connection = LockConnection(
        paired.settings,
        guest,
        guest_lock,
        listener,
        session=paired.session,
        timings=QUICK,
    )
    with pytest.raises(LockUnreachable, match="lan: refused: not_permitted"):
        await connection.connect()
    assert connection.client is None
    assert listener.calls == []
    assert listener.updates == []
    await admin_connection.stop()
