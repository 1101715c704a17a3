"""`device_sim client`: the reference command-line controller.

A profile file (`cli_profile.py`) holds this controller's identity (private
keys: the file is created 0600), the paired lock's record and how to reach
it; several processes may share it.  Tests and benchmarks drive locks through
the same `LockClient` that Home Assistant uses.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
import signal
import sys
import time

import aiohttp
import segno

from custom_components.secure_lock.controller import (
    LinkUnavailable,
    LockClient,
    LockReport,
    UpdateProgress,
    confirm_pairing,
    firmware_status,
    load_release,
    pair_over_link,
    update_firmware,
)
from custom_components.secure_lock.controller.discovery import (
    find_locks,
    pair_with_a_candidate,
)
from custom_components.secure_lock.controller.links import (
    BROKER_URL_SEPARATOR,
    BrokerSettings,
    LinkSettingsError,
    LinkUse,
    broker_link,
    check_ca_pem,
)
from custom_components.secure_lock.protocol import (
    CommandResult,
    ControllerIdentity,
    PairedLock,
    PublicKeyBundle,
    Role,
    SetupCode,
)
from custom_components.secure_lock.protocol.pairing import ControllerPairingOutcome
from custom_components.secure_lock.transport import TransportError
from custom_components.secure_lock.transport.link import FrameLink
from custom_components.secure_lock.transport.ws import WebSocketFrameLink

from . import cli_keypad
from .cli_errors import PAIRING_NO_ANSWER
from .cli_lock import BROKER_CA_NEEDED, SEVERAL_NODES_HELP, broker_urls
from .cli_profile import Connection, Profile


async def open_link(
    connection: Connection, use: LinkUse, session: aiohttp.ClientSession
) -> FrameLink:
    """Connect to the lock over LAN or the broker, as the profile says.

    With both, the LAN comes first and the broker is the fallback; ``session``
    (the caller's, closed by it) carries the LAN WebSocket.
    """
    if not connection.lan_url and not connection.broker_url:
        raise ValueError("the profile has no way to reach the lock (--lan or --broker)")
    failures: list[str] = []
    if connection.lan_url:
        ws = WebSocketFrameLink(connection.lan_url, session=session)
        try:
            await ws.connect()
        except TransportError as err:
            failures.append(f"{connection.lan_url}: {err}")
        else:
            return ws
    if connection.broker_url:
        broker = _broker(connection.broker_url, connection)
        if not connection.lock_id:
            raise ValueError(BROKER_CA_NEEDED)
        link = broker_link(bytes.fromhex(connection.lock_id), broker, use)
        try:
            await link.connect()
        except TransportError as err:
            failures.append(f"{connection.broker_url}: {err}")
        else:
            return link
    raise ValueError(f"cannot reach the lock ({'; '.join(failures)})")


def _broker(text: str, connection: Connection) -> BrokerSettings:
    """Return the broker a profile (or `pair`'s options) names; ``text``: its URLs."""
    urls = broker_urls([text])
    if not connection.broker_ca:
        raise ValueError(BROKER_CA_NEEDED)
    return BrokerSettings(
        urls,
        _read_broker_ca(Path(connection.broker_ca)),
        connection.username,
        connection.password,
    )


def _read_broker_ca(path: Path) -> str:
    """Return the broker CA file's PEM text; one error line if it holds no CA certificate."""
    try:
        ca_pem = path.read_text(encoding="utf-8")
        check_ca_pem(ca_pem)
    except OSError, UnicodeDecodeError, LinkSettingsError:
        raise ValueError(
            f"--broker-ca {path}: not a readable PEM CA certificate"
        ) from None
    return ca_pem


def add_parsers(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add the `client` subcommand and its actions."""
    parser = subparsers.add_parser(
        "client",
        help="a command-line controller: pair, lock, unlock, open, events, admin",
        description="The reference controller. Its profile file holds its keys (0600).",
    )
    parser.add_argument(
        "--profile", type=Path, required=True, help="this controller's profile file"
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)

    pair = actions.add_parser(
        "pair",
        help="pair with a new lock whose button was pressed, or with an invitation code",
    )
    pair.add_argument(
        "setup_code", help="the setup code or the QR text (label or invitation)"
    )
    pair.add_argument(
        "--name", default="Command line", help="this controller's name on the lock"
    )
    pair.add_argument(
        "--lan", metavar="ws://HOST:PORT/securelock/v1", help="the lock's LAN address"
    )
    pair.add_argument(
        "--broker",
        action="append",
        metavar="mqtts://HOST:PORT",
        help=f"the broker's controller listener; {SEVERAL_NODES_HELP}",
    )
    pair.add_argument("--broker-ca", help="CA certificate of the broker")
    pair.add_argument("--username", help="broker user name")
    pair.add_argument("--password", help="broker password")
    pair.set_defaults(action=_pair)

    for name, text in (
        ("lock", "lock and wait for the signed confirmation"),
        ("unlock", "unlock and wait for the signed confirmation"),
        ("open", "unlatch and wait for the signed confirmation"),
        ("status", "ask for the lock's signed state"),
    ):
        sub = actions.add_parser(name, help=text)
        sub.set_defaults(action=_command, command=name)

    events = actions.add_parser(
        "events", help="print verified events and heartbeats until Ctrl-C"
    )
    events.add_argument("--seconds", type=float, help="stop after this long")
    events.set_defaults(action=_events)

    bundle = actions.add_parser(
        "bundle", help="print this controller's public key bundle (for an admin to add)"
    )
    bundle.set_defaults(action=_bundle)

    add = actions.add_parser(
        "add-controller", help="admin: add a controller by its public bundle"
    )
    add.add_argument("bundle", help="hex bundle printed by `client bundle`")
    add.add_argument("--name", required=True)
    add.add_argument(
        "--role", choices=["admin", "operator", "guest"], default="operator"
    )
    add.add_argument(
        "--valid-hours", type=float, help="validity from now (required for guests)"
    )
    add.set_defaults(action=_add_controller)

    invite = actions.add_parser(
        "invite",
        help="admin: a one-time setup code for someone else (15 minutes, once)",
    )
    invite.add_argument(
        "--role", choices=["admin", "operator", "guest"], default="guest"
    )
    invite.add_argument(
        "--valid-hours", type=float, help="their access from now (required for guests)"
    )
    invite.set_defaults(action=_invite)

    uninvite = actions.add_parser(
        "revoke-invitation", help="admin: take back an invitation that was not used"
    )
    uninvite.add_argument("invitation_id", help="hex id printed by `client invite`")
    uninvite.set_defaults(action=_revoke_invitation)

    remove = actions.add_parser(
        "remove-controller", help="admin: revoke a controller by id"
    )
    remove.add_argument("controller_id", help="hex id from `client controllers`")
    remove.set_defaults(action=_remove_controller)

    listing = actions.add_parser("controllers", help="admin: list controllers")
    listing.set_defaults(action=_controllers)

    audit = actions.add_parser("audit", help="print the lock's audit log")
    audit.add_argument("--since", type=int, default=0)
    audit.set_defaults(action=_audit)

    rotate = actions.add_parser(
        "rotate-keys", help="rotate this controller's prekey now"
    )
    rotate.set_defaults(action=_rotate)

    update = actions.add_parser(
        "update",
        help="admin: install a firmware release directory (resumes an interrupted one)",
        description=(
            "Offer the release's signed manifest to the lock, stream the image in "
            "chunks from wherever the lock's copy stops, and install it. Run it "
            "again after an interruption: the transfer resumes."
        ),
    )
    update.add_argument(
        "release_dir", type=Path, help="a directory written by `firmware release`"
    )
    update.add_argument(
        "--no-install",
        action="store_true",
        help="only transfer the image; install later by running update again",
    )
    update.add_argument(
        "--rate",
        type=float,
        default=None,
        metavar="FRAMES_PER_SECOND",
        help="pace the chunks (default: the link's send rate, 15/s on the LAN; 0 = unpaced)",
    )
    update.set_defaults(action=_update)

    fw_status = actions.add_parser(
        "firmware-status",
        help="print the running firmware and any update in progress",
    )
    fw_status.set_defaults(action=_firmware_status)
    cli_keypad.add_parsers(actions, _with_client)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    # Expected failures become one line in __main__ (cli_errors.describe).
    action: Callable[[argparse.Namespace], Awaitable[int]] = args.action
    return asyncio.run(action(args))


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


async def _pair(args: argparse.Namespace) -> int:
    setup = SetupCode.parse(args.setup_code)
    broker_url: str | None = None
    if args.broker is not None:
        # The same checks and messages as `lock --broker`; stored as HA stores them.
        broker_url = f"{BROKER_URL_SEPARATOR} ".join(broker_urls(args.broker))
        if args.broker_ca is None:
            raise ValueError(BROKER_CA_NEEDED)
        if not Path(args.broker_ca).is_file():
            raise ValueError(f"--broker-ca: no file at {args.broker_ca}")
    elif args.broker_ca or args.username or args.password:
        raise ValueError("--broker-ca, --username and --password need --broker")
    connection = Connection(
        lan_url=args.lan,
        broker_url=broker_url,
        broker_ca=args.broker_ca,
        username=args.username,
        password=args.password,
        lock_id=None if setup.pin is None else setup.pin.lock_id.hex(),
    )
    profile = Profile(ControllerIdentity.generate(), connection)
    if setup.pin is None and broker_url is not None and args.lan is None:
        # Typed digits through a relay: ask which locks have such a code.
        broker = _broker(broker_url, connection)
        candidates = await find_locks(broker, setup.discriminator)

        async def attempt(lock_id: bytes) -> ControllerPairingOutcome:
            connection.lock_id = lock_id.hex()
            return await _pair_once(connection, profile, setup, args.name)

        outcome = await pair_with_a_candidate(candidates, attempt)
    else:
        outcome = await _pair_once(connection, profile, setup, args.name)
    profile.lock = outcome.lock
    connection.lock_id = outcome.lock.lock_id.hex()
    profile.save(args.profile, replace_existing=True)
    print(
        f"paired with lock {outcome.lock.lock_id.hex()} as {outcome.role.name.lower()}"
    )
    print(f"controller id {outcome.controller_id.hex()}")
    return 0


async def _pair_once(
    connection: Connection, profile: Profile, setup: SetupCode, name: str
) -> ControllerPairingOutcome:
    async with aiohttp.ClientSession() as session:
        link = await open_link(
            connection, LinkUse(profile.identity.key_id, pairing=True), session
        )
        try:
            try:
                outcome = await pair_over_link(link, profile.identity, setup, name)
                # Final only once the lock hears from us (it forgets silent joins).
                await confirm_pairing(link, profile.identity, outcome.lock)
            except LinkUnavailable:
                raise ValueError(PAIRING_NO_ANSWER) from None
        finally:
            await link.close()
    return outcome


async def _with_client(
    args: argparse.Namespace, work: Callable[[LockClient], Awaitable[int]]
) -> int:
    profile = Profile.load(args.profile)
    if profile.lock is None:
        raise ValueError("this profile is not paired")

    def persist(lock: PairedLock) -> None:
        # Called from the receive loop: a failed save must not stop it.
        profile.lock = lock
        try:
            profile.save(args.profile)
        except (OSError, ValueError) as err:
            print(f"warning: could not save the profile: {err}", file=sys.stderr)

    async with aiohttp.ClientSession() as session:
        link = await open_link(
            profile.connection, LinkUse(profile.identity.key_id), session
        )
        client = LockClient(
            link,
            profile.identity,
            profile.lock,
            on_persist=persist,
            on_update=_print_update,
        )
        await client.start()
        try:
            return await work(client)
        finally:
            await client.close()
            await link.close()
            profile.save(args.profile)


def _print_update(update: LockReport) -> None:
    status = update.status
    line = (
        f"{update.kind.value:9} lock={status.bolt_state.name.lower()} door={status.door_state.name.lower()} "
        f"battery={'?' if status.battery_percent is None else status.battery_percent}%"
    )
    if update.event is not None:
        line += f" event={update.event.event.name.lower()} source={update.event.source.name.lower()}"
        if update.event.controller_name:
            line += f" by={update.event.controller_name}"
    print(line, flush=True)


_COMMANDS: dict[str, Callable[[LockClient], Awaitable[CommandResult]]] = {
    "lock": LockClient.lock,
    "unlock": LockClient.unlock,
    "open": LockClient.open,
    "status": LockClient.status,
}


async def _command(args: argparse.Namespace) -> int:
    async def work(client: LockClient) -> int:
        result = await _COMMANDS[args.command](client)
        print(f"ok: lock is {result.status.bolt_state.name.lower()}")
        return 0

    return await _with_client(args, work)


async def _events(args: argparse.Namespace) -> int:
    async def work(client: LockClient) -> int:
        # One signed request first: it prints the state now, and it proves
        # this connection to the lock, which closes LAN connections that
        # never authenticate.
        await client.status()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, stop.set)
        try:
            async with asyncio.timeout(args.seconds):
                await stop.wait()
        except TimeoutError:
            pass
        return 0

    return await _with_client(args, work)


async def _bundle(args: argparse.Namespace) -> int:
    profile = Profile.load(args.profile)
    print(profile.identity.public_bundle().to_bytes().hex())
    return 0


async def _add_controller(args: argparse.Namespace) -> int:
    bundle = PublicKeyBundle.from_bytes(bytes.fromhex(args.bundle))
    role = Role[args.role.upper()]
    now = _now_ms()
    until = int(now + args.valid_hours * 3_600_000) if args.valid_hours else 0

    async def work(client: LockClient) -> int:
        await client.add_controller(
            bundle,
            args.name,
            role,
            valid_from_ms=now if until else 0,
            valid_until_ms=until,
        )
        print(f"added {args.name} as {args.role} (id {bundle.key_id.hex()})")
        return 0

    return await _with_client(args, work)


async def _invite(args: argparse.Namespace) -> int:
    role = Role[args.role.upper()]
    if role is Role.GUEST and not args.valid_hours:
        raise ValueError("a guest needs --valid-hours")

    async def work(client: LockClient) -> int:
        now = client.endpoint.lock_time()
        until = int(now + args.valid_hours * 3_600_000) if args.valid_hours else 0
        invitation = await client.create_invitation(
            role, valid_from_ms=now if until else 0, valid_until_ms=until
        )
        expires = time.strftime(
            "%H:%M:%S", time.localtime(invitation.expires_at_ms / 1000)
        )
        print(f"invitation {invitation.invitation_id.hex()} for a {args.role}")
        code = invitation.code
        print(f"setup code (works once, until {expires}): {code.manual_code()}")
        print(f"QR text: {code.qr_text()}")
        segno.make(code.qr_text(), error="m").terminal(compact=True)
        return 0

    return await _with_client(args, work)


async def _revoke_invitation(args: argparse.Namespace) -> int:
    invitation_id = bytes.fromhex(args.invitation_id)

    async def work(client: LockClient) -> int:
        await client.revoke_invitation(invitation_id)
        print("invitation revoked")
        return 0

    return await _with_client(args, work)


async def _remove_controller(args: argparse.Namespace) -> int:
    async def work(client: LockClient) -> int:
        await client.remove_controller(bytes.fromhex(args.controller_id))
        print("removed")
        return 0

    return await _with_client(args, work)


async def _controllers(args: argparse.Namespace) -> int:
    async def work(client: LockClient) -> int:
        for entry in await client.list_controllers():
            state = "revoked" if entry.revoked else "active"
            print(
                f"{entry.controller_id.hex()}  {entry.role.name.lower():8} {state:7} {entry.name}"
            )
        return 0

    return await _with_client(args, work)


async def _audit(args: argparse.Namespace) -> int:
    async def work(client: LockClient) -> int:
        for entry in await client.audit_log(args.since):
            print(
                f"{entry.index:5} {entry.time_ms} {entry.kind.name.lower():18} "
                f"{entry.source.name.lower():11} {entry.result.name.lower():13} {entry.controller_id.hex()}"
            )
        return 0

    return await _with_client(args, work)


def _print_progress(progress: UpdateProgress) -> None:
    print(
        f"{progress.phase.value:12} {progress.held}/{progress.total} bytes "
        f"({progress.percent}%)",
        flush=True,
    )


async def _update(args: argparse.Namespace) -> int:
    release = load_release(args.release_dir)

    async def work(client: LockClient) -> int:
        status = await update_firmware(
            client,
            release,
            on_progress=_print_progress,
            install=not args.no_install,
            frames_per_second=args.rate,
        )
        if args.no_install:
            print(f"transferred {release.version}; run update again to install")
        else:
            print(f"lock runs firmware {status.running_version}")
        return 0

    return await _with_client(args, work)


async def _firmware_status(args: argparse.Namespace) -> int:
    async def work(client: LockClient) -> int:
        status = await firmware_status(client)
        print(f"running {status.running_version} (slot {status.running_slot.name})")
        print(f"security version floor {status.security_version}")
        print(f"update state {status.state.name.lower()}", end="")
        if status.total:
            print(f", {status.pending_version}: {status.received}/{status.total} bytes")
        else:
            print()
        if status.last_outcome.value:
            print(
                f"last update {status.last_outcome.name.lower()} {status.last_error}".rstrip()
            )
        return 0

    return await _with_client(args, work)


async def _rotate(args: argparse.Namespace) -> int:
    async def work(client: LockClient) -> int:
        await client.rotate_keys()
        print("rotated")
        return 0

    return await _with_client(args, work)
