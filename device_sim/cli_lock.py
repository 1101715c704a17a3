"""`device_sim lock`: run one or many simulated locks until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import contextlib
import errno
import logging
from pathlib import Path
import signal
from urllib.parse import urlsplit

import segno

from custom_components.secure_lock.controller.links import (
    BROKER_URL_SEPARATOR,
    BrokerUrlCredentialsError,
    LinkSettingsError,
    parse_broker_url,
    parse_broker_urls,
    split_broker_urls,
)
from custom_components.secure_lock.protocol.errors import ProtocolError
from custom_components.secure_lock.protocol.firmware import ReleasePublicKey
from custom_components.secure_lock.transport.ws_server import DEFAULT_AUTH_DEADLINE

from . import PROG
from .lock_device import DeviceConfig
from .lock_runtime import BrokerSettings, LockRuntime, RuntimeOptions
from .mechanism import MechanismConfig
from .pki import DevCertificateAuthority

QR_FILE = "setup-qr.png"
SEVERAL_NODES_HELP = (
    "for several nodes of one broker repeat it or separate the URLs with "
    "commas: they are tried in order, and the next when one goes away"
)
FIRST_LAN_PORT = 8765
"""The development stack's (scripts/develop) first lock listens here, and counts up."""
_DEFAULTS = DeviceConfig()


def add_parsers(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add the `lock` subcommand."""
    parser = subparsers.add_parser(
        "lock",
        help="run a simulated lock (LAN WebSocket and/or MQTT broker)",
        description=(
            "Run a simulated lock. On first boot it generates its keys inside an "
            "emulated secure element, seals them under a device key in the state "
            "directory, and prints its setup code and QR (also saved as "
            f"{QR_FILE}). Press its pairing button with "
            f"`{PROG} press-button --state-dir DIR`."
        ),
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        required=True,
        help="where the lock keeps its sealed state",
    )
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="serve the LAN WebSocket here (e.g. 127.0.0.1:8765)",
    )
    parser.add_argument(
        "--broker",
        action="append",
        metavar="mqtts://HOST:PORT",
        help="connect to this MQTT broker's lock listener (mutual TLS); "
        f"{SEVERAL_NODES_HELP}",
    )
    parser.add_argument(
        "--broker-ca",
        type=Path,
        help="CA certificate that signed the broker's certificate",
    )
    parser.add_argument(
        "--factory-ca",
        type=Path,
        metavar="DIR",
        help="dev CA directory (ca.crt, ca.key) that issues the device certificate at first boot",
    )
    parser.add_argument(
        "--zeroconf", action="store_true", help="advertise _securelock._tcp on loopback"
    )
    parser.add_argument(
        "--motor-seconds",
        type=float,
        default=1.0,
        help="time the bolt takes to move (0 for benchmarks)",
    )
    parser.add_argument(
        "--auto-relock",
        type=int,
        metavar="SECONDS",
        help="relock this many seconds after an unlock (0 turns it off; kept across restarts)",
    )
    parser.add_argument(
        "--heartbeat",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="heartbeat interval",
    )
    parser.add_argument(
        "--no-latch", action="store_true", help="a lock without a latch (no open)"
    )
    parser.add_argument(
        "--count",
        type=int,
        default=1,
        help="host this many locks in one process (state in DIR/lock-N; LAN ports counted up)",
    )
    parser.add_argument(
        "--lan-rate",
        type=float,
        help="frames per second one LAN connection may send before frames are dropped",
    )
    parser.add_argument(
        "--release-key",
        type=Path,
        metavar="FILE",
        help="manufacturer release public key (release.pub from `firmware keygen`); "
        "baked into the lock's sealed state the first time it is given, never replaced",
    )
    parser.add_argument(
        "--model",
        default=_DEFAULTS.model,
        help="model name; firmware releases must name the same model",
    )
    parser.add_argument(
        "--firmware-version",
        default=_DEFAULTS.firmware_version,
        metavar="X.Y.Z",
        help="version of the factory image in slot A (first boot only)",
    )
    parser.add_argument(
        "--reboot-seconds",
        type=float,
        default=_DEFAULTS.reboot_seconds,
        help="how long the simulated reboot into a new firmware image takes",
    )
    parser.add_argument(
        "--refuse-update-unlocked",
        action="store_true",
        help="refuse to install firmware while the bolt is not locked",
    )
    parser.add_argument(
        "--counter-file",
        type=Path,
        metavar="FILE",
        help="the emulated secure element's monotonic counter (a secure element "
        "or TPM NV counter, or eMMC RPMB, on real hardware) that detects an older "
        "copy of the sealed state; default: beside device.key in the state "
        "directory. Keep it out of any copy of the flash (the *.sealed files)",
    )
    parser.add_argument(
        "--lan-auth-deadline",
        type=float,
        default=DEFAULT_AUTH_DEADLINE,
        metavar="SECONDS",
        help="close a LAN connection that sends no authenticating frame in this time",
    )
    parser.add_argument("--quiet", action="store_true", help="do not print QR codes")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # A ValueError here (bad options, address in use) becomes one line in
    # __main__, without a traceback.
    options = _options(args)
    return asyncio.run(_serve(options, quiet=args.quiet, auto_relock=args.auto_relock))


BROKER_CA_NEEDED = "--broker needs --broker-ca"


def broker_urls(values: Sequence[str]) -> tuple[str, ...]:
    """Return the URLs given to ``--broker`` (repeated, or separated by commas)."""
    text = BROKER_URL_SEPARATOR.join(values)
    for url in split_broker_urls(text) or (text,):
        broker_address(url)
    try:
        return parse_broker_urls(text)
    except LinkSettingsError as err:
        # Each URL passed: what is left is a node given twice.
        raise ValueError(f"--broker: {err}") from None


def broker_address(text: str) -> tuple[str, int]:
    """Return (host, port) of an mqtts:// URL; one message for every CLI command.

    `parse_broker_url` is the integration's own check (it also refuses
    credentials in the URL without quoting them).
    """
    try:
        url = urlsplit(parse_broker_url(text))
    except BrokerUrlCredentialsError:
        raise
    except LinkSettingsError:
        url = None
    if url is None or url.hostname is None or url.port is None:
        raise ValueError("--broker takes mqtts://HOST:PORT (TLS only)")
    return url.hostname, url.port


def _options(args: argparse.Namespace) -> list[RuntimeOptions]:
    if args.listen is None and args.broker is None:
        raise ValueError("give --listen, --broker, or both")
    lan: tuple[str, int] | None = None
    if args.listen is not None:
        host, _, port = args.listen.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError("--listen takes HOST:PORT")
        lan = (host, int(port))
    broker: BrokerSettings | None = None
    if args.broker is not None:
        (host, port), *others = map(broker_address, broker_urls(args.broker))
        if args.broker_ca is None:
            raise ValueError(BROKER_CA_NEEDED)
        broker = BrokerSettings(host, port, args.broker_ca, fallbacks=tuple(others))
    factory_ca = None
    if args.factory_ca is not None:
        factory_ca = DevCertificateAuthority.load(
            args.factory_ca / "ca.crt", args.factory_ca / "ca.key"
        )
    release_key = None
    if args.release_key is not None:
        try:
            release_key = ReleasePublicKey.from_text(
                args.release_key.read_text(encoding="ascii")
            )
        except (OSError, UnicodeDecodeError, ProtocolError) as err:
            raise ValueError(f"cannot read the release key: {err}") from None
    device = DeviceConfig(
        model=args.model,
        firmware_version=args.firmware_version,
        mechanism=MechanismConfig(
            motor_seconds=args.motor_seconds, has_latch=not args.no_latch
        ),
        heartbeat_seconds=args.heartbeat,
        release_key=release_key,
        reboot_seconds=args.reboot_seconds,
        refuse_update_when_unlocked=args.refuse_update_unlocked,
    )
    result = []
    for index in range(args.count):
        state_dir = (
            args.state_dir if args.count == 1 else args.state_dir / f"lock-{index}"
        )
        result.append(
            RuntimeOptions(
                state_dir=state_dir,
                device=device,
                lan=None if lan is None else (lan[0], lan[1] + index if lan[1] else 0),
                broker=broker,
                factory_ca=factory_ca,
                zeroconf=args.zeroconf,
                admin_socket=True,
                lan_rate=args.lan_rate,
                counter_file=_counter_file(args, index),
                lan_auth_deadline=args.lan_auth_deadline,
            )
        )
    return result


def _counter_file(args: argparse.Namespace, index: int) -> Path | None:
    """Return the counter file of lock ``index`` (one per lock; None: beside its key)."""
    given: Path | None = args.counter_file
    if given is None or args.count == 1:
        return given
    return given.with_name(f"{given.name}.lock-{index}")


async def _serve(
    options: list[RuntimeOptions], *, quiet: bool, auto_relock: int | None
) -> int:
    runtimes = [LockRuntime(o) for o in options]
    started: list[LockRuntime] = []
    for runtime in runtimes:
        try:
            device = await runtime.start()
        except OSError as err:
            for done in started:
                with contextlib.suppress(Exception):
                    await done.stop()
            with contextlib.suppress(Exception):
                await runtime.stop()
            if err.errno != errno.EADDRINUSE or runtime.options.lan is None:
                raise
            host, port = runtime.options.lan
            raise ValueError(
                f"{host}:{port} is already in use (another simulated lock, or "
                f"scripts/develop, whose locks listen on {FIRST_LAN_PORT} and up): "
                "choose another port with --listen"
            ) from None
        started.append(runtime)
        if device.first_boot or len(runtimes) == 1:
            announce(runtime, quiet=quiet or len(runtimes) > 1)
        if auto_relock is not None:
            device.set_auto_relock(auto_relock or None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"{len(runtimes)} lock(s) running; Ctrl-C stops.", flush=True)
    await stop.wait()
    for runtime in runtimes:
        with contextlib.suppress(Exception):
            await runtime.stop()
    return 0


def announce(
    runtime: LockRuntime, *, quiet: bool, broker_for_controllers: str | None = None
) -> None:
    """Print how to pair the lock: setup code, QR, button; save the QR as a PNG.

    `broker_for_controllers` is the broker URL controllers should use (the
    development stack's controller listener, with the accounts it printed);
    without it the lock's own
    broker listener is shown as such.
    """
    device = runtime.device
    assert device is not None
    code = device.element.label_code
    state_dir = runtime.options.state_dir
    qr = segno.make(code.qr_text(), error="m")
    # The QR holds the setup code (it is the lock's label): owner-only.
    qr.save(str(state_dir / QR_FILE), scale=6, border=4)
    (state_dir / QR_FILE).chmod(0o600)
    print(
        f"Simulated lock {device.lock_id.hex()} ({device.config.model}, firmware {device.config.firmware_version})"
    )
    if runtime.lan is not None:
        address = urlsplit(runtime.lan.url).netloc
        print(f"  LAN:        {address} ({runtime.lan.url})")
    if broker_for_controllers is not None:
        print(
            f"  Broker:     {broker_for_controllers} (for controllers: accounts above)"
        )
    elif (broker := runtime.options.broker) is not None:
        nodes = ((broker.host, broker.port), *broker.fallbacks)
        urls = ", ".join(f"mqtts://{host}:{port}" for host, port in nodes)
        print(f"  Broker:     {urls} (the lock's listener)")
    print(f"  Setup code: {code.manual_code()}")
    print(f"  QR text:    {code.qr_text()}")
    print(f"  QR image:   {state_dir / QR_FILE}")
    print(f"  Pairing:    {PROG} press-button --state-dir {state_dir}")
    print(f"  Code again: {PROG} setup-code --state-dir {state_dir}")
    if not quiet:
        qr.terminal(compact=True)
