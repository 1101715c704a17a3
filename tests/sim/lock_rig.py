"""A simulated lock on a loopback hub, with a manual clock and a flash that can be copied.

The "flash" is the directory of sealed records; the device key and the
secure element's monotonic counter live apart from it, as on the device, so
a test can copy the flash and write an old copy back (a rollback attack).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
import shutil

from custom_components.secure_lock.controller import (
    LockClient,
    LockReport,
    confirm_pairing,
    pair_over_link,
)
from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    PairedLock,
    Role,
    SetupCode,
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
    """A simulated lock whose flash can be copied and written back between boots."""

    path: Path
    scheduler: ManualScheduler = field(default_factory=ManualScheduler)
    config: DeviceConfig = field(
        default_factory=lambda: DeviceConfig(
            mechanism=MechanismConfig(motor_seconds=0),
            prekey_policy=FAST_PREKEYS,
            audit_capacity=AUDIT_CAPACITY,
        )
    )
    hub: LoopbackHub = field(default_factory=LoopbackHub)
    device: LockDevice = field(init=False)
    admin: LockClient | None = None
    """The first controller paired (by `pair` or `pair_admin`)."""

    def __post_init__(self) -> None:
        """Boot the lock for the first time."""
        self.hub.clock = self.scheduler.monotonic
        self.boot()

    @property
    def flash(self) -> Path:
        """Return the directory an attacker with the flash can read and rewrite."""
        return self.path / "state"

    def boot(self) -> LockDevice:
        """Power the lock on (again), from whatever the flash and the secure element hold."""
        store = SealedStore(
            self.flash,
            KeyFile(self.path / "device.key"),
            counter=CounterFile(self.path / "monotonic.counters"),
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
        """Return the manual clock in milliseconds (the controllers' clock too)."""
        return int(self.scheduler.wall_time() * 1000)

    async def pair(
        self, name: str = "Home Assistant", role: Role = Role.OPERATOR
    ) -> LockClient:
        """Pair a new controller, confirm the pairing, and return its started client.

        The first one pairs with the label and the button; the rest join by
        an invitation the first (the admin) creates, with ``role``.
        """
        if self.admin is None:
            self.device.press_button()
            setup = SetupCode.parse(self.device.element.label_code.manual_code())
        else:
            setup = (await self.admin.create_invitation(role)).code
        link = self.hub.attach()
        identity = ControllerIdentity.generate(now_ms=self.now_ms())
        outcome = await pair_over_link(link, identity, setup, name, clock=self.now_ms)
        await confirm_pairing(link, identity, outcome.lock, clock=self.now_ms)
        client = LockClient(link, identity, outcome.lock, clock=self.now_ms)
        await client.start()
        if self.admin is None:
            self.admin = client
        return client

    async def pair_admin(self, updates: list[LockReport]) -> LockClient:
        """Pair the first controller (admin) over the label's code, reporting to ``updates``.

        No separate confirmation: the client's first frame makes the join final.
        """
        self.device.press_button()
        link = self.hub.attach()
        identity = ControllerIdentity.generate(now_ms=self.now_ms())
        outcome = await pair_over_link(
            link,
            identity,
            SetupCode.parse(self.device.element.label_code.manual_code()),
            "Home Assistant",
            clock=self.now_ms,
        )
        client = LockClient(
            link, identity, outcome.lock, clock=self.now_ms, on_update=updates.append
        )
        await client.start()
        self.admin = client
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
