"""Run a simulated lock for real: LAN WebSocket, MQTT relay, admin channel, zeroconf.

`LockRuntime` wires one `LockDevice` to its links.  Everything the lock sends
goes through one queue and one sender task, so frames keep their order on
every link.  Several runtimes can share one event loop (load tests host
thousands of locks in one process).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
import logging
import os
from pathlib import Path
import ssl
from typing import Any

from custom_components.secure_lock.protocol.channel import Channel, unwrap
from custom_components.secure_lock.protocol.errors import ProtocolError
from custom_components.secure_lock.protocol.pairing_messages import (
    DiscoveryAnswer,
    DiscoveryProbe,
    PairingMessageType,
)
from custom_components.secure_lock.protocol.pairing_seal import PairingRequest
from custom_components.secure_lock.protocol.rng import Rng, system_rng
from custom_components.secure_lock.transport import (
    BrokerEndpoint,
    LockTopics,
    MqttFrameLink,
    MqttLinkConfig,
    MqttRole,
    TransportError,
)
from custom_components.secure_lock.transport.link import FrameLink
from custom_components.secure_lock.transport.rate_limit import TokenBucket
from custom_components.secure_lock.transport.topics import found_topic
from custom_components.secure_lock.transport.ws_link import WebSocketLink
from custom_components.secure_lock.transport.ws_server import (
    DEFAULT_AUTH_DEADLINE,
    DEFAULT_RATE,
    LanFrameServer,
)

from .admin import (
    KEYPAD_LOCK_KEY,
    SOCKET_NAME,
    AdminCommand,
    AdminError,
    AdminRequest,
    AdminServer,
)
from .lock_device import DeviceConfig, LockDevice
from .mechanism import DoorState, MechanismRefused
from .nv_counter import COUNTER_FILE_NAME, CounterFile
from .pki import DevCertificateAuthority
from .storage import KeyFile, SealedStore
from .timing import AsyncioScheduler

_LOGGER = logging.getLogger(__name__)

TLS_RECORD = "tls"
KEY_FILE_NAME = "device.key"
_OUTBOX_LIMIT = 1024


PROBE_ANSWERS_PER_SECOND = 2.0


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    """How the lock reaches the relay (mutual TLS with its device certificate)."""

    host: str
    port: int
    ca_file: Path
    server_name: str = "localhost"
    fallbacks: tuple[tuple[str, int], ...] = ()
    """Further nodes of the same broker (host, port), tried in order after the
    first; their certificates carry the same ``server_name``."""


@dataclass(frozen=True, slots=True)
class RuntimeOptions:
    """Where the lock keeps its state and which links it opens."""

    state_dir: Path
    device: DeviceConfig = field(default_factory=DeviceConfig)
    lan: tuple[str, int] | None = None
    broker: BrokerSettings | None = None
    factory_ca: DevCertificateAuthority | None = None
    zeroconf: bool = False
    admin_socket: bool = True
    lan_rate: float | None = None
    """Frames per second one LAN connection may send (None: the server default)."""
    rng: Rng = system_rng
    """Randomness for keys and nonces; tests pass a deterministic one for stable ids."""
    counter_file: Path | None = None
    """The emulated secure element's monotonic counter (SE counter, TPM NV
    counter or eMMC RPMB on real hardware).  Default: beside the device key.
    It must not be part of any copy of the flash that could be written back."""
    lan_auth_deadline: float = DEFAULT_AUTH_DEADLINE
    """Seconds a LAN connection has to send a frame that authenticates."""


class LockRuntime:
    """One simulated lock with its links; `start` and `stop` it from a running loop."""

    def __init__(self, options: RuntimeOptions) -> None:
        """Prepare; nothing runs until `start`."""
        self.options = options
        self.scheduler: AsyncioScheduler | None = None
        self.device: LockDevice | None = None
        self.lan: LanFrameServer | None = None
        self.mqtt: MqttFrameLink | None = None
        self._admin: AdminServer | None = None
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue(_OUTBOX_LIMIT)
        self._tasks: list[asyncio.Task[None]] = []
        self._answers: set[asyncio.Task[None]] = set()
        # Probes are unauthenticated: a few answers a second at most.
        self._probe_budget = TokenBucket(rate=PROBE_ANSWERS_PER_SECOND, burst=4)
        self._zeroconf: Any = None

    @property
    def counter_file(self) -> Path:
        """Return where the emulated secure element keeps its counters."""
        return self.options.counter_file or self.options.state_dir / COUNTER_FILE_NAME

    @property
    def store(self) -> SealedStore:
        """Return the lock's sealed storage, bound to the secure element's counter."""
        return SealedStore(
            self.options.state_dir,
            KeyFile(self.options.state_dir / KEY_FILE_NAME),
            counter=CounterFile(self.counter_file),
        )

    async def start(self) -> LockDevice:
        """Boot the lock and open its links."""
        self.scheduler = AsyncioScheduler()
        store = self.store
        device = LockDevice(
            store,
            self.scheduler,
            self._enqueue,
            self.options.device,
            rng=self.options.rng,
        )
        self.device = device
        self._tasks.append(asyncio.create_task(self._sender(), name="lock sender"))
        if self.options.admin_socket:
            self._admin = AdminServer(
                self.options.state_dir / SOCKET_NAME, self.handle_admin
            )
            await self._admin.start()
        if self.options.lan is not None:
            host, port = self.options.lan
            rate = self.options.lan_rate or DEFAULT_RATE
            self.lan = LanFrameServer(
                self._serve_lan,
                host=host,
                port=port,
                rate=rate,
                burst=2 * rate,
                auth_deadline=self.options.lan_auth_deadline,
            )
            await self.lan.start()
        if self.options.broker is not None:
            await self._connect_broker(store, device)
        if self.options.zeroconf and self.lan is not None:
            await self._advertise(device)
        device.start()
        return device

    async def stop(self) -> None:
        """Close links and timers; the stored state is already durable."""
        if self.device is not None:
            self.device.shutdown()
        if self._zeroconf is not None:
            await self._zeroconf.async_close()
        tasks = [*self._tasks, *self._answers]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._answers.clear()
        if self.mqtt is not None:
            await self.mqtt.close()
        if self.lan is not None:
            await self.lan.stop()
        if self._admin is not None:
            await self._admin.close()

    # Frames ----------------------------------------------------------------

    def _enqueue(self, frame: bytes) -> None:
        try:
            self._outbox.put_nowait(frame)
        except asyncio.QueueFull:
            _LOGGER.warning("Outgoing queue full; dropped a frame")

    def _links(self) -> list[FrameLink]:
        links: list[FrameLink] = []
        if self.mqtt is not None and self.mqtt.connected:
            links.append(self.mqtt)
        if self.lan is not None:
            links.extend(link for link in self.lan.links if link.connected)
        return links

    async def _sender(self) -> None:
        while True:
            frame = await self._outbox.get()
            for link in self._links():
                try:
                    await link.send(frame)
                except TransportError as err:
                    _LOGGER.debug("A link dropped a frame: %s", type(err).__name__)

    async def _pump(self, link: FrameLink) -> None:
        async for frame in link:
            if self.device is not None:
                self.device.receive(frame)

    async def _serve_lan(self, link: WebSocketLink) -> None:
        async for frame in link:
            device = self.device
            if device is None:
                continue
            opened = device.endpoint.opened
            hello = device.accepts_pairing() and _is_pairing_hello(frame)
            device.receive(frame)
            # The connection keeps its slot once a frame on it proved itself:
            # one the lock opened for an allowed controller, or a pairing
            # hello while the button's window or an invitation is open.
            if self.lan is not None and (hello or device.endpoint.opened != opened):
                self.lan.authenticated(link)

    # Broker ----------------------------------------------------------------

    async def _connect_broker(self, store: SealedStore, device: LockDevice) -> None:
        settings = self.options.broker
        assert settings is not None
        context = self._device_tls(store, device, settings)
        self.mqtt = MqttFrameLink(
            MqttLinkConfig(
                role=MqttRole.LOCK,
                topics=LockTopics.for_lock(device.lock_id),
                port=settings.port,
                tls=context,
                server_name=settings.server_name,
                address=settings.host,
                fallbacks=tuple(
                    BrokerEndpoint(settings.server_name, port, host)
                    for host, port in settings.fallbacks
                ),
                hears_probes=True,
            )
        )
        self.mqtt.on_probe = self._answer_probe
        self.mqtt.add_restored_listener(self._broker_restored)
        try:
            await self.mqtt.connect()
        except TransportError as err:
            # The link keeps retrying in the background; LAN still works.
            _LOGGER.warning("Broker not reachable yet: %s", err)
        self._tasks.append(asyncio.create_task(self._pump(self.mqtt), name="lock mqtt"))

    def _broker_restored(self) -> None:
        """Tell every controller the state: what we sent while away went nowhere."""
        if self.device is not None:
            self.device.send_report()

    def _answer_probe(self, discriminator: int, payload: bytes) -> None:
        """Tell a prober our id if we have an open code with its discriminator.

        Nothing is written and nothing else is said; at most a few answers a
        second, as anyone on the relay can send probes.
        """
        device, link = self.device, self.mqtt
        if device is None or link is None or not device.has_open_code(discriminator):
            return
        try:
            probe = DiscoveryProbe.from_bytes(payload)
            topic = found_topic(probe.reply_to)
        except ProtocolError, ValueError:
            return
        if probe.discriminator != discriminator or not self._probe_budget.allow():
            return
        answer = DiscoveryAnswer(probe.nonce, device.lock_id).to_bytes()
        task = asyncio.create_task(self._publish_answer(link, topic, answer))
        self._answers.add(task)
        task.add_done_callback(self._answers.discard)

    @staticmethod
    async def _publish_answer(link: MqttFrameLink, topic: str, answer: bytes) -> None:
        try:
            await link.answer_probe(topic, answer)
        except TransportError as err:
            _LOGGER.debug("A discovery answer was not sent: %s", type(err).__name__)

    def _device_tls(
        self, store: SealedStore, device: LockDevice, settings: BrokerSettings
    ) -> ssl.SSLContext:
        """Return the mTLS context with the device certificate, issued at first boot."""
        record = store.load(TLS_RECORD)
        if record is None:
            ca = self.options.factory_ca
            if ca is None:
                raise RuntimeError(
                    "this lock has no device certificate yet; pass the dev CA (--factory-ca)"
                )
            issued = ca.issue_lock(device.lock_id)
            record = issued.cert_pem + issued.key_pem
            store.save(TLS_RECORD, record)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        context.verify_mode = ssl.CERT_REQUIRED
        context.check_hostname = True
        context.load_verify_locations(cafile=str(settings.ca_file))
        _load_chain_from_memory(context, record)
        return context

    # Discovery -------------------------------------------------------------

    async def _advertise(self, device: LockDevice) -> None:
        from .discovery import register_lock  # noqa: PLC0415 - zeroconf only when asked

        assert self.lan is not None
        self._zeroconf = await register_lock(
            device.lock_id,
            device.config.model,
            device.config.firmware_version,
            self.lan.port,
        )

    # Admin channel -----------------------------------------------------------

    async def handle_admin(self, request: AdminRequest) -> dict[str, Any]:
        """Act on the physical world for a developer or a test."""
        device = self.device
        scheduler = self.scheduler
        if device is None or scheduler is None:
            raise AdminError("the lock is not running")
        try:
            extra = _apply_admin(device, scheduler, request)
        except MechanismRefused as err:
            raise AdminError(f"the mechanism refused: {err.refusal.value}") from err
        if request.command is AdminCommand.SETUP_CODE:
            code = device.element.label_code
            return {"code": code.manual_code(), "qr": code.qr_text()}
        return {"state": device.describe(), **extra}


def _apply_admin(
    device: LockDevice, scheduler: AsyncioScheduler, request: AdminRequest
) -> dict[str, str]:
    """Carry out ``request``; return what to add to the answer (the keypad's verdict)."""
    match request.command:
        case AdminCommand.PRESS_BUTTON:
            device.press_button()
        case AdminCommand.RESET:
            device.factory_reset()
        case AdminCommand.DOOR:
            device.set_door(
                DoorState.OPEN if request.argument == "open" else DoorState.CLOSED
            )
        case AdminCommand.JAM:
            device.mechanism.jam_next_operation()
        case AdminCommand.BATTERY:
            assert isinstance(request.argument, float)
            device.mechanism.set_battery(request.argument)
        case AdminCommand.CLOCK_SKEW:
            assert isinstance(request.argument, float)
            scheduler.skew_seconds = request.argument
        case AdminCommand.TURN:
            device.mechanism.turn_by_hand(lock=request.argument == "lock")
        case AdminCommand.KEYPAD if request.argument == KEYPAD_LOCK_KEY:
            device.press_keypad_lock_key()
        case AdminCommand.KEYPAD:
            # The PIN goes no further than the keypad: only the verdict is answered.
            return {"keypad": device.type_on_keypad(str(request.argument)).value}
        case AdminCommand.TAMPER:
            device.mechanism.tamper()
        case AdminCommand.OFFLINE:
            device.set_online(False)
        case AdminCommand.ONLINE:
            device.set_online(True)
        case AdminCommand.SELF_CHECK:
            device.fail_next_self_check(request.argument == "fail")
        case AdminCommand.STATE | AdminCommand.SETUP_CODE:
            pass
    return {}


def _is_pairing_hello(frame: bytes) -> bool:
    try:
        channel, body = unwrap(frame)
    except ProtocolError:
        return False
    if channel is not Channel.PAIRING:
        return False
    try:
        request = PairingRequest.from_bytes(body)
    except ProtocolError:
        return False
    return request.message[:1] == bytes([PairingMessageType.HELLO])


def _load_chain_from_memory(context: ssl.SSLContext, pem: bytes) -> None:
    """Load a certificate and key without writing the key to disk.

    `ssl` only reads key files by path; a memfd is a file that lives in
    memory and disappears when closed, so the unsealed key never reaches disk.
    """
    fd = os.memfd_create("secure-lock-tls", os.MFD_CLOEXEC)
    try:
        os.write(fd, pem)
        context.load_cert_chain(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)
