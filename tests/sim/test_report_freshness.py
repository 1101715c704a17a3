"""A signed report is shown as the lock's state only while fresh, and never behind one shown.

The relay can hold the lock's frames and release them later, in any order,
within their lifetime: the signatures and counters still check.  The
controller shows a report only if it is at most 5 s old by its estimate
of the lock's clock (which runs at most 5 s behind the lock and 2 s ahead:
nothing older than 10 s is shown as current); otherwise it asks the lock
afresh.  A report older than one already shown is refused earlier, by its
counter.
"""

from __future__ import annotations

import asyncio

from custom_components.secure_lock.controller import LockClient, LockReport
from custom_components.secure_lock.controller.client import REPORT_FRESHNESS_MS
from custom_components.secure_lock.protocol.state import BoltState
from device_sim.loopback import LoopbackLink

from .helpers import wait_until
from .lock_rig import Rig


def _hold(rig: Rig, client: LockClient) -> tuple[LoopbackLink, int]:
    """Take the client's link off the lock's fan-out; return it and the frame count."""
    link = client.link
    assert isinstance(link, LoopbackLink)
    rig.hub.links.remove(link)
    return link, len(rig.hub.sent_by_lock)


async def _settled(client: LockClient) -> None:
    """Let the client's receive loop take every frame already delivered."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_report_held_past_the_bound_is_not_shown_and_a_fresh_status_is(
    rig: Rig,
) -> None:
    """Held 26 s then released: signed and new, not shown; the lock's answer is."""
    client = await rig.pair()
    reports: list[LockReport] = []
    client.add_listener(reports.append)
    assert (await client.status()).status.bolt_state is BoltState.LOCKED
    reports.clear()
    link, before = _hold(rig, client)
    rig.device.mechanism.keypad(lock=False)
    rig.scheduler.advance(1)
    rig.device.mechanism.keypad(lock=True)
    rig.scheduler.advance(1)
    held = rig.hub.sent_by_lock[before:]
    assert held
    rig.scheduler.advance(26)
    rig.hub.links.append(link)
    link.deliver(held[0])
    await wait_until(lambda: client.stale_reports == 1)
    # The client asked the lock afresh; the lock's signed answer is shown.
    await wait_until(lambda: bool(reports))
    assert [r.status.bolt_state for r in reports] == [BoltState.LOCKED]
    assert client.last_status is not None
    assert client.last_status.bolt_state is BoltState.LOCKED
    await client.close()


async def test_a_report_just_inside_the_bound_is_shown(rig: Rig) -> None:
    """Held 4 s (below the 5 s bound): shown as it is."""
    client = await rig.pair()
    reports: list[LockReport] = []
    client.add_listener(reports.append)
    await client.status()
    reports.clear()
    link, before = _hold(rig, client)
    rig.device.mechanism.keypad(lock=False)
    rig.scheduler.advance(REPORT_FRESHNESS_MS / 1000 - 1)
    rig.hub.links.append(link)
    for frame in rig.hub.sent_by_lock[before:]:
        link.deliver(frame)
    await wait_until(lambda: bool(reports))
    await _settled(client)
    assert client.stale_reports == 0
    assert reports[-1].status.bolt_state is BoltState.UNLOCKED
    await client.close()


async def test_an_older_report_after_a_newer_one_is_not_shown(rig: Rig) -> None:
    """Released newest first: the older ones, fresh as they are, do not move the state back."""
    client = await rig.pair()
    reports: list[LockReport] = []
    client.add_listener(reports.append)
    await client.status()
    reports.clear()
    link, before = _hold(rig, client)
    rig.device.mechanism.keypad(lock=False)
    rig.scheduler.advance(1)
    rig.device.mechanism.keypad(lock=True)
    rig.scheduler.advance(1)
    held = rig.hub.sent_by_lock[before:]
    assert len(held) >= 2
    rig.hub.links.append(link)
    for frame in reversed(held):
        link.deliver(frame)
    await wait_until(lambda: client.stale_reports + client.rejected_frames >= 1)
    await _settled(client)
    shown = [r.status.bolt_state for r in reports]
    assert shown[0] is BoltState.LOCKED, shown
    assert BoltState.UNLOCKED not in shown, shown
    assert client.last_status is not None
    assert client.last_status.bolt_state is BoltState.LOCKED
    await client.close()
