"""Pytest cases behind bench/bench_e2e.py (run by it; not part of the test suite).

Runs the integration inside the pytest-homeassistant-custom-component harness
with the real simulator and a real Mosquitto, reusing tests/integration's
fixtures, and writes the measured samples as JSON to $SECURE_LOCK_BENCH_OUT.
The lock of the service-call and pairing cases runs in a process of its own
(bench/e2e_lock.py), as a real lock runs on its own CPU, so the CPU per call
of Home Assistant's process (the controller side) and of the lock are
measured apart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
import gc
import json
import os
from pathlib import Path
import shutil
import tempfile
import time
import tracemalloc

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bench.e2e_lock import LockProcess, cpu_seconds
from custom_components.secure_lock.const import CONF_MODEL, CONTROLLER_NAME, DOMAIN
from custom_components.secure_lock.controller import confirm_pairing, pair_over_link
from custom_components.secure_lock.controller.links import BrokerSettings, LinkSettings
from custom_components.secure_lock.entry_data import credential_data, link_data
from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    ControllerPairingOutcome,
    Role,
    SetupCode,
)
from custom_components.secure_lock.protocol.envelope import routing_id
from custom_components.secure_lock.transport import MqttFrameLink
from device_sim.broker import MosquittoBroker
from device_sim.lock_runtime import LockRuntime, RuntimeOptions
from device_sim.pki import DevCertificateAuthority, write_issued
from tests.conftest import broker, ca  # noqa: F401 - fixtures used by name
from tests.integration.conftest import (  # noqa: F401 - fixtures used by name
    BROKER_PASSWORD,
    BROKER_USER,
    FAST,
    MODEL,
    SimLock,
    _localhost_sockets,
    auto_enable_custom_integrations,
    pair_controller,
)
from tests.sim.helpers import TEST_CONTROLLER_KEY_ID, frame_to, lan_link

ENTITY = "lock.front_door"
ROUNDS = int(os.environ.get("SECURE_LOCK_BENCH_ROUNDS", "100"))
WARM_UP = 5
PAIRINGS = 10
RAW_LOCK_ID = bytes.fromhex("5e" * 16)
FRAME_BYTES = 1200
BENCH_KEY_ID = TEST_CONTROLLER_KEY_ID
"""About a sealed command frame plus MQTT overhead (suite 2 frames are larger)."""


def _record(name: str, samples: list[float]) -> None:
    out = Path(os.environ["SECURE_LOCK_BENCH_OUT"])
    data = json.loads(out.read_text()) if out.exists() else {}
    data[name] = samples
    out.write_text(json.dumps(data))


@pytest.fixture(autouse=True)
def _production_event_loop(hass: HomeAssistant) -> None:
    """Measure with asyncio debug off, as Home Assistant runs outside the test harness.

    The harness turns asyncio debug mode on; it records a stack trace for
    every callback and task, which costs more than everything measured here.
    SECURE_LOCK_BENCH_ASYNCIO_DEBUG=1 keeps it on.
    """
    if os.environ.get("SECURE_LOCK_BENCH_ASYNCIO_DEBUG") != "1":
        hass.loop.set_debug(False)


@pytest.fixture(name="lock")
async def lock_fixture(
    tmp_path: Path,
    broker: MosquittoBroker,  # noqa: F811
    ca: DevCertificateAuthority,  # noqa: F811
) -> AsyncIterator[LockProcess]:
    """One simulated lock in its own process, reachable over the LAN and the broker."""
    # SECURE_LOCK_BENCH_STATE_ROOT=/dev/shm takes the lock's fsyncs off the disk.
    state_root = Path(os.environ.get("SECURE_LOCK_BENCH_STATE_ROOT", str(tmp_path)))
    state_dir = Path(tempfile.mkdtemp(dir=state_root))
    ca.save(tmp_path / "ca")
    lock = await LockProcess.start(
        state_dir / "lock", broker.lock_port, tmp_path / "ca"
    )
    broker.add_controller(BROKER_USER, BROKER_PASSWORD, [lock.lock_id.hex()])
    yield lock
    await lock.stop()
    shutil.rmtree(state_dir)


async def _pair(
    lock: LockProcess,
) -> tuple[ControllerIdentity, ControllerPairingOutcome]:
    """Pair a new controller over the LAN, as the config flow would (both sides timed).

    The first uses the label and the button, later ones an invitation
    (tests/integration's ``pair_controller``, with the lock in its process).
    """
    setup = SetupCode.parse(await lock.setup_code(Role.OPERATOR))
    identity = ControllerIdentity.generate()
    async with lan_link(lock.lan_url) as link:
        outcome = await pair_over_link(
            link, identity, setup, CONTROLLER_NAME, timeout=10
        )
        await confirm_pairing(link, identity, outcome.lock, timeout=10)
    return identity, outcome


def _broker_settings(broker: MosquittoBroker, lock: LockProcess) -> LinkSettings:  # noqa: F811
    """Return link settings that reach ``lock`` through ``broker`` only."""
    return LinkSettings(
        lock.lock_id,
        broker=BrokerSettings(
            (f"mqtts://127.0.0.1:{broker.controller_port}",),
            broker.ca_file.read_text(encoding="utf-8"),
            BROKER_USER,
            BROKER_PASSWORD,
        ),
    )


@dataclass(slots=True)
class _CallCosts:
    """Wall and CPU time of the service calls, per process."""

    wall_ms: list[float]
    home_assistant_cpu_ms: list[float]
    """Home Assistant's process (the controller side) per call."""
    lock_cpu_ms: float
    """The lock process per call, averaged over all calls (clock-tick resolution)."""
    broker_cpu_ms: float
    """Mosquitto per call, averaged likewise (its share of the LAN path is nil)."""


async def _service_round_trips(
    hass: HomeAssistant,
    lock: LockProcess,
    broker: MosquittoBroker,  # noqa: F811
) -> _CallCosts:
    """Time the service calls; CPU of each process apart."""
    samples: list[float] = []
    cpu: list[float] = []
    assert broker.pid is not None
    lock_cpu = broker_cpu = 0.0
    for number in range(ROUNDS + WARM_UP):
        service, expected = (
            ("unlock", "unlocked") if number % 2 == 0 else ("lock", "locked")
        )
        if number == WARM_UP:
            lock_cpu, broker_cpu = lock.cpu_seconds(), cpu_seconds(broker.pid)
        start, cpu_start = time.perf_counter(), time.process_time()
        await hass.services.async_call(
            "lock", service, {ATTR_ENTITY_ID: ENTITY}, blocking=True
        )
        state = hass.states.get(ENTITY)
        elapsed = (time.perf_counter() - start) * 1000
        cpu_ms = (time.process_time() - cpu_start) * 1000
        # The call returns once the lock's signed result is in the state machine.
        assert state is not None
        assert state.state == expected
        if number >= WARM_UP:
            samples.append(elapsed)
            cpu.append(cpu_ms)
    # The lock's last state event (it follows the signed result) may still
    # be on its way; it belongs to the last call.
    await hass.async_block_till_done()
    return _CallCosts(
        samples,
        cpu,
        (lock.cpu_seconds() - lock_cpu) * 1000 / ROUNDS,
        (cpu_seconds(broker.pid) - broker_cpu) * 1000 / ROUNDS,
    )


async def test_pairing_time(hass: HomeAssistant, lock: LockProcess) -> None:
    """Pair controllers one after the other over the LAN (both sides, real sockets)."""
    pair_ms: list[float] = []
    for _ in range(PAIRINGS):
        start = time.perf_counter()
        await _pair(lock)
        pair_ms.append((time.perf_counter() - start) * 1000)
    _record("pairing over LAN (both sides)", pair_ms)


@pytest.mark.parametrize(
    ("path", "extra_controllers"), [("lan", 0), ("broker", 0), ("broker", 9)]
)
async def test_service_call_to_signed_state(
    hass: HomeAssistant,
    lock: LockProcess,
    broker: MosquittoBroker,  # noqa: F811
    path: str,
    extra_controllers: int,
) -> None:
    """Pair, set up the entry (timed), then time lock/unlock service calls.

    ``extra_controllers`` other controllers paired with the same lock: the
    lock seals every state event once per controller.
    """
    for _ in range(extra_controllers):
        await _pair(lock)
    identity, outcome = await _pair(lock)
    settings = (
        LinkSettings(lock.lock_id, lan_url=lock.lan_url)
        if path == "lan"
        else _broker_settings(broker, lock)
    )
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=lock.lock_id.hex(),
        title="Front door",
        data={
            **link_data(settings),
            **credential_data(identity, outcome.lock),
            CONF_MODEL: MODEL,
        },
    )
    entry.add_to_hass(hass)
    setup_ms: list[float] = []
    for _ in range(5):
        start = time.perf_counter()
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        setup_ms.append((time.perf_counter() - start) * 1000)
        assert entry.state is ConfigEntryState.LOADED
        assert hass.states.get(ENTITY) is not None
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    label = f"{path}, {extra_controllers + 1} controller(s) paired"
    costs = await _service_round_trips(hass, lock, broker)
    _record(f"{label}: service call to signed entity state", costs.wall_ms)
    _record(
        f"{label}: CPU of Home Assistant's process (controller side)",
        costs.home_assistant_cpu_ms,
    )
    _record(f"{label}: CPU of the lock process (mean)", [costs.lock_cpu_ms])
    _record(f"{label}: CPU of Mosquitto (mean)", [costs.broker_cpu_ms])
    _record(f"{label}: integration setup (entry load)", setup_ms)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_raw_mqtt_round_trip(
    hass: HomeAssistant,
    tmp_path: Path,
    broker: MosquittoBroker,  # noqa: F811
    ca: DevCertificateAuthority,  # noqa: F811
) -> None:
    """Baseline: the same Mosquitto, a frame-sized publish echoed by a lock-role client."""
    broker.add_controller("raw", BROKER_PASSWORD, [RAW_LOCK_ID.hex()])
    files = write_issued(ca.issue_lock(RAW_LOCK_ID), tmp_path, "raw-lock")
    lock = MqttFrameLink(broker.lock_link_config(RAW_LOCK_ID, files))
    controller = MqttFrameLink(
        broker.controller_link_config(
            RAW_LOCK_ID,
            "raw",
            BROKER_PASSWORD,
            routing_id=routing_id(RAW_LOCK_ID, BENCH_KEY_ID),
        )
    )
    await lock.connect()
    await controller.connect()
    samples: list[float] = []
    # Addressed like an envelope to the controller, so the echo finds its topic.
    frame = frame_to(RAW_LOCK_ID, bytes(FRAME_BYTES - 19), BENCH_KEY_ID)
    for number in range(ROUNDS + WARM_UP):
        start = time.perf_counter()
        await controller.send(frame)
        await lock.send(await lock.receive())
        assert await controller.receive() == frame
        if number >= WARM_UP:
            samples.append((time.perf_counter() - start) * 1000)
    await controller.close()
    await lock.close()
    _record("raw MQTT round trip (same broker, same loop)", samples)


def _rss_kib() -> int:
    status = Path("/proc/self/status").read_text()
    return int(
        next(x for x in status.splitlines() if x.startswith("VmRSS:")).split()[1]
    )


async def test_memory_per_config_entry(hass: HomeAssistant, tmp_path: Path) -> None:
    """RSS growth of setting up K entries, each with its own LAN lock (already running)."""
    count = int(os.environ.get("SECURE_LOCK_BENCH_ENTRIES", "20"))
    runtimes: list[LockRuntime] = []
    entries: list[MockConfigEntry] = []
    for index in range(count):
        runtime = LockRuntime(
            RuntimeOptions(
                state_dir=tmp_path / f"lock{index}",
                device=FAST,
                lan=("127.0.0.1", 0),
                admin_socket=False,
            )
        )
        await runtime.start()
        runtimes.append(runtime)
        lock = SimLock(runtime)
        identity, outcome = await pair_controller(lock)
        entry = MockConfigEntry(
            domain=DOMAIN,
            unique_id=lock.lock_id,
            title=f"Door {index}",
            data={
                **link_data(LinkSettings(lock.device.lock_id, lan_url=lock.lan_url)),
                **credential_data(identity, outcome.lock),
                CONF_MODEL: MODEL,
            },
        )
        entries.append(entry)
    # Warm up: the first entry also loads the integration's modules and platforms.
    # (Setting up the domain sets up every entry already added, so each entry
    # is added just before its own setup.)
    entries[0].add_to_hass(hass)
    assert await hass.config_entries.async_setup(entries[0].entry_id)
    await hass.async_block_till_done()
    gc.collect()
    before = _rss_kib()
    tracemalloc.start()
    traced_before = tracemalloc.get_traced_memory()[0]
    for entry in entries[1:]:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert all(e.state is ConfigEntryState.LOADED for e in entries)
    assert len(hass.states.async_entity_ids("lock")) == count
    gc.collect()
    traced = (tracemalloc.get_traced_memory()[0] - traced_before) / 1024
    tracemalloc.stop()
    after = _rss_kib()
    _record("memory per config entry: RSS KiB", [(after - before) / (count - 1)])
    _record("memory per config entry: tracemalloc KiB", [traced / (count - 1)])
    for entry in entries:
        assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    for runtime in runtimes:
        await runtime.stop()
