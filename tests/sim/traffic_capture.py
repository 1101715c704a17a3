"""A lock with three controllers, and the relay's log of what each command caused.

Shared by tests/sim/test_traffic_shape.py and bench/bench_blindness.py: the
lock runs on a manual clock, so every frame's time is the lock's own and the
features a relay could use (which routing id got a frame, when, and how
many) are exact.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Awaitable, Hashable
from dataclasses import dataclass
from pathlib import Path

from custom_components.secure_lock.controller import LockClient
from custom_components.secure_lock.protocol import Role
from custom_components.secure_lock.protocol.channel import Channel
from device_sim.lock_device import DeviceConfig
from device_sim.mechanism import MechanismConfig
from device_sim.timing import ManualScheduler

from .lock_rig import Rig

MOTOR_S = 1.0
HOLD_S = 3.0
RELOCK_S = 20
STEP_S = 0.5
QUIET_S = 40.0
"""Long enough for a relock after the hold, and the reports after a lock."""

RelayView = tuple[tuple[float, bool, str], ...]
"""(seconds since the command, upward, whose routing id) per envelope."""


@dataclass
class ShapedLock:
    """The lock, its three controllers by name, and who each routing id is."""

    rig: Rig
    clients: dict[str, LockClient]
    names: dict[bytes, str]

    async def close(self) -> None:
        """Stop the lock's timers and the clients."""
        self.rig.device.shutdown()
        for client in self.clients.values():
            await client.close()

    async def run(self, command: Awaitable[object], seconds: float = QUIET_S) -> None:
        """Run ``command`` while the lock's clock moves on in small steps."""
        task = asyncio.ensure_future(command)
        elapsed = 0.0
        while elapsed < seconds:
            await asyncio.sleep(0)
            self.rig.scheduler.advance(STEP_S)
            elapsed += STEP_S
            await asyncio.sleep(0)
        await task

    async def observe(self, command: Awaitable[object]) -> RelayView:
        """Run ``command`` to quiet and return what the relay saw of it."""
        start = len(self.rig.hub.passed)
        await self.run(command)
        seen = self.rig.hub.passed[start:]
        t0 = seen[0][0]
        return tuple(
            (round(at - t0, 3), up, self.names.get(frame[3:19], "?"))
            for at, up, frame in seen
            if frame[0] == Channel.ENVELOPE
        )


async def shaped_lock(directory: Path) -> ShapedLock:
    """Return a lock with a motor, a latch, auto-relock on and three controllers."""
    config = DeviceConfig(
        mechanism=MechanismConfig(motor_seconds=MOTOR_S, open_hold_seconds=HOLD_S)
    )
    rig = Rig(directory, ManualScheduler(), config)
    admin = await rig.pair("Home Assistant")
    clients = {
        "admin": admin,
        "phone": await rig.pair("Phone", Role.OPERATOR),
        "tablet": await rig.pair("Tablet", Role.OPERATOR),
    }
    shaped = ShapedLock(
        rig,
        clients,
        {client.endpoint.routing_id: name for name, client in clients.items()},
    )
    shaped.names[rig.device.endpoint.routing_id] = "lock"
    await shaped.run(admin.set_auto_relock(RELOCK_S))
    return shaped


def best_accuracy(samples: list[tuple[Hashable, str]]) -> float:
    """Return the best accuracy any classifier has: each feature vector's most common label."""
    by_features: dict[Hashable, Counter[str]] = defaultdict(Counter)
    for features, label in samples:
        by_features[features][label] += 1
    right = sum(c.most_common(1)[0][1] for c in by_features.values())
    return right / len(samples)


def chance(samples: list[tuple[Hashable, str]]) -> float:
    """Return the accuracy of always guessing the most common label."""
    counts = Counter(label for _, label in samples)
    return counts.most_common(1)[0][1] / len(samples)
