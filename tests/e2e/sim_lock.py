"""A simulated lock on 127.0.0.1 for Home Assistant processes to pair with.

It runs in the test's event loop; the `hass` process reaches it over the LAN
WebSocket like a real lock on the network.  Restarting keeps the state
directory and the port (Home Assistant stored the address when it paired).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from device_sim.lock_device import DeviceConfig, LockDevice
from device_sim.lock_runtime import BrokerSettings, LockRuntime, RuntimeOptions
from device_sim.mechanism import MechanismConfig
from device_sim.pki import DevCertificateAuthority

# The bolt moves at once and an opened latch stays open: no waiting on timers.
FAST = DeviceConfig(
    model="SL-1 (simulated)",
    mechanism=MechanismConfig(motor_seconds=0, open_hold_seconds=600),
)


@dataclass
class SimulatedLock:
    """One running simulated lock and what a user reads off its label."""

    state_dir: Path
    port: int = 0
    relay: BrokerSettings | None = None
    """The broker's lock listener, for a lock reached only through the relay."""
    factory_ca: DevCertificateAuthority | None = None
    runtime: LockRuntime | None = field(default=None, init=False)

    async def start(self) -> None:
        """Boot the lock (first boot makes its keys) and listen on the LAN."""
        runtime = LockRuntime(
            RuntimeOptions(
                state_dir=self.state_dir,
                device=FAST,
                lan=None if self.relay is not None else ("127.0.0.1", self.port),
                broker=self.relay,
                factory_ca=self.factory_ca,
                admin_socket=False,
                # The system's randomness, as a real lock: a seeded one would
                # repeat its nonces after the power cycle below.
            )
        )
        await runtime.start()
        if runtime.lan is not None:
            self.port = runtime.lan.port
        self.runtime = runtime

    async def stop(self) -> None:
        """Stop the lock; its sealed state stays in the state directory."""
        runtime, self.runtime = self.runtime, None
        if runtime is not None:
            await runtime.stop()

    async def restart(self) -> None:
        """Power-cycle: a new runtime from the stored state, on the same port."""
        await self.stop()
        await self.start()

    @property
    def device(self) -> LockDevice:
        """Return the lock's firmware object."""
        assert self.runtime is not None and self.runtime.device is not None
        return self.runtime.device

    @property
    def address(self) -> str:
        """Return host:port as a user types it."""
        return f"127.0.0.1:{self.port}"

    @property
    def setup_code(self) -> str:
        """Return the label's 11 digits, as a person types them."""
        return self.device.element.label_code.manual_code()

    @property
    def qr_text(self) -> str:
        """Return the label's QR text (names the lock: needed through a relay)."""
        return self.device.element.label_code.qr_text()

    @property
    def lock_id(self) -> str:
        """Return the lock id as hex."""
        return self.device.lock_id.hex()

    @property
    def lock_entity(self) -> str:
        """Return the lock entity's id (named after the entry title)."""
        return f"lock.secure_lock_{self.lock_id[:8]}"

    @property
    def event_entity(self) -> str:
        """Return the activity event entity's id."""
        return f"event.secure_lock_{self.lock_id[:8]}_activity"
