"""A simulated lock on a loopback hub whose flash can be copied and written back.

The "flash" is the directory of sealed records; the device key and the
secure element's monotonic counter live apart from it, as on the device.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
import shutil

from custom_components.secure_lock.controller import (
    LockClient,
    LockReport,
    pair_over_link,
)
from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    PairedLock,
    Role,
    SetupPayload,
)
from custom_components.secure_lock.protocol.identity import PrekeyPolicy
from device_sim.lock_device import DeviceConfig, LockDevice
from device_sim.loopback import LoopbackHub
from device_sim.mechanism import MechanismConfig
from device_sim.nv_counter import CounterFile
from device_sim.storage import SUFFIX, KeyFile, SealedStore
from device_sim.timing import ManualScheduler

# Short prekey lifetimes so a prekey expires while a sealed frame is still valid.
FAST_PREKEYS = PrekeyPolicy(lifetime_ms=5_000, grace_ms=1_000)
# A small audit log, so a flood that overflows it stays quick.
AUDIT_CAPACITY = 64


@dataclass
class Rig:
    """A lock whose flash can be copied and written back between boots."""

    path: Path
    scheduler: ManualScheduler = field(default_factory=ManualScheduler)
    hub: LoopbackHub = field(default_factory=LoopbackHub)
    config: DeviceConfig = field(
        default_factory=lambda: DeviceConfig(
            mechanism=MechanismConfig(motor_seconds=0),
            prekey_policy=FAST_PREKEYS,
            audit_capacity=AUDIT_CAPACITY,
        )
    )
    device: LockDevice = field(init=False)

    def __post_init__(self) -> None:
        """First boot."""
        self.boot()

    @property
    def flash(self) -> Path:
        """Return the directory an attacker with the flash can read and rewrite."""
        return self.path / "flash"

    def boot(self) -> LockDevice:
        """Power on from whatever the flash and the secure element hold."""
        store = SealedStore(
            self.flash,
            KeyFile(self.path / "se" / "device.key"),
            counter=CounterFile(self.path / "se" / "monotonic.counters"),
        )
        self.device = LockDevice(store, self.scheduler, self.hub.outbox, self.config)
        self.hub.receive = self.device.receive
        return self.device

    def reboot(self) -> LockDevice:
        """Power cycle."""
        self.device.shutdown()
        return self.boot()

    def power_off(self) -> None:
        """Stop the lock; a reboot takes a few seconds of wall time."""
        self.device.shutdown()
        self.scheduler.advance(3)

    def copy_flash(self, to: Path, names: tuple[str, ...] = ()) -> None:
        """Copy the sealed records (all, or only ``names``)."""
        to.mkdir()
        for record in self.flash.glob(f"*{SUFFIX}"):
            if not names or record.stem in names:
                shutil.copy2(record, to / record.name)

    def write_back(self, copy: Path) -> None:
        """Put an old copy of records back over the current ones."""
        for record in copy.iterdir():
            shutil.copy2(record, self.flash / record.name)

    def now_ms(self) -> int:
        """Return the manual clock in milliseconds."""
        return int(self.scheduler.wall_time() * 1000)

    async def pair_admin(self, updates: list[LockReport]) -> LockClient:
        """Pair the first controller (admin) over the label's code."""
        self.device.press_button()
        link = self.hub.attach()
        identity = ControllerIdentity.generate(now_ms=self.now_ms())
        outcome = await pair_over_link(
            link,
            identity,
            SetupPayload.parse(self.device.element.setup_payload.to_code()),
            "Home Assistant",
            clock=self.now_ms,
        )
        client = LockClient(
            link, identity, outcome.lock, clock=self.now_ms, on_update=updates.append
        )
        await client.start()
        return client

    async def add(self, admin: LockClient, name: str, role: Role) -> LockClient:
        """Have the admin add a controller; return its started client."""
        identity = ControllerIdentity.generate(now_ms=self.now_ms())
        # Guests need an end of validity: a day from now.
        until = self.now_ms() + 86_400_000 if role is Role.GUEST else 0
        await admin.add_controller(
            identity.public_bundle(),
            name,
            role,
            valid_from_ms=self.now_ms() if until else 0,
            valid_until_ms=until,
        )
        paired = admin.paired_lock
        lock = PairedLock(paired.lock_id, paired.bundle, paired.suite, role)
        client = LockClient(self.hub.attach(), identity, lock, clock=self.now_ms)
        await client.start()
        return client
