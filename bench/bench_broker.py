"""Measure frame round trips through a real Mosquitto, with and without Nagle.

Run from the repository root:  .venvs/latest/bin/python bench/bench_broker.py

A round trip is: controller publishes a command (QoS 1, waits for PUBACK),
the lock receives it and publishes a reply, the controller receives the reply.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
import socket
import statistics
import sys
import tempfile
import time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import device_sim  # noqa: E402, F401 - registers the HA-free packages first

# isort: split

from custom_components.secure_lock.protocol.envelope import routing_id  # noqa: E402
from custom_components.secure_lock.transport import MqttFrameLink  # noqa: E402
from device_sim.broker import MosquittoBroker  # noqa: E402
from device_sim.pki import DevCertificateAuthority, write_issued  # noqa: E402
from tests.sim.helpers import TEST_CONTROLLER_KEY_ID, frame_to  # noqa: E402

LOCK_ID = bytes.fromhex("5e" * 16)
BENCH_KEY_ID = TEST_CONTROLLER_KEY_ID
# Addressed like an envelope to the bench controller, so the echo finds its topic.
FRAME = frame_to(LOCK_ID, bytes(256 - 19), BENCH_KEY_ID)
PASSWORD = "bench-password"


async def _round_trips(
    directory: Path, *, broker_nodelay: bool, client_nodelay: bool, count: int
) -> list[float]:
    ca = DevCertificateAuthority.create()
    broker = MosquittoBroker.with_dev_pki(directory, ca, tcp_nodelay=broker_nodelay)
    broker.add_controller("bench", PASSWORD, [LOCK_ID.hex()])
    files = write_issued(ca.issue_lock(LOCK_ID), directory, "lock")
    with broker:
        lock = MqttFrameLink(broker.lock_link_config(LOCK_ID, files))
        controller = MqttFrameLink(
            broker.controller_link_config(
                LOCK_ID, "bench", PASSWORD, routing_id=routing_id(LOCK_ID, BENCH_KEY_ID)
            )
        )
        await lock.connect()
        await controller.connect()
        if not client_nodelay:
            # The transport always sets TCP_NODELAY; undo it to show the cost.
            for link in (lock, controller):
                sock = link._sock  # noqa: SLF001 - benchmark only
                assert isinstance(sock, socket.socket)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)

        async def echo() -> None:
            async for frame in lock:
                await lock.send(frame)

        echo_task = asyncio.create_task(echo())
        samples = []
        for _ in range(count):
            start = time.perf_counter()
            await controller.send(FRAME)
            await controller.receive()
            samples.append((time.perf_counter() - start) * 1000)
        await controller.close()
        await lock.close()
        await echo_task
    return samples


def _report(label: str, samples: list[float]) -> None:
    quantiles = statistics.quantiles(samples, n=10)
    print(
        f"{label:<30} n={len(samples):<4} p50={statistics.median(samples):7.2f} ms"
        f"  p90={quantiles[8]:7.2f} ms  max={max(samples):7.2f} ms"
    )


async def main() -> None:
    """Run both configurations and print p50/p90."""
    configurations = [
        ("TCP_NODELAY client + broker", True, True, 300),
        ("TCP_NODELAY client only", False, True, 40),
        ("TCP_NODELAY broker only", True, False, 40),
        ("Nagle on both sides", False, False, 40),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for index, (label, broker_nodelay, client_nodelay, count) in enumerate(
            configurations
        ):
            samples = await _round_trips(
                Path(tmp, str(index)),
                broker_nodelay=broker_nodelay,
                client_nodelay=client_nodelay,
                count=count,
            )
            # The first round trips include TLS session warm-up.
            _report(label, samples[count // 10 :])


if __name__ == "__main__":
    asyncio.run(main())
