"""`device_sim stack`: the development stack in one process.

Starts Mosquitto with TLS from the dev CA (mutual TLS for locks, password
accounts for controllers), then the simulated locks, each on the LAN and on
the broker, and prints what a developer needs to pair them from Home
Assistant or the command-line client.  Every lock gets two broker accounts,
one for Home Assistant and one for the command-line client, each granted
that lock only: an account is never shared between programs.  State lives
in one directory and survives restarts; Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import logging
from pathlib import Path
import signal

from .broker import MosquittoBroker
from .cli_lock import FIRST_LAN_PORT, announce
from .lock_device import DeviceConfig
from .lock_runtime import BrokerSettings, LockRuntime, RuntimeOptions
from .mechanism import MechanismConfig
from .pki import DevCertificateAuthority
from .stack_accounts import StackAccount, stack_accounts


def add_parsers(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add the `stack` subcommand."""
    parser = subparsers.add_parser(
        "stack",
        help="run the development stack: Mosquitto (TLS) and simulated locks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--dir", type=Path, required=True, help="state directory of the stack"
    )
    parser.add_argument("--locks", type=int, default=1, help="how many simulated locks")
    parser.add_argument("--motor-seconds", type=float, default=1.0)
    parser.add_argument(
        "--lock-port", type=int, default=18883, help="broker port for locks (mTLS)"
    )
    parser.add_argument(
        "--controller-port",
        type=int,
        default=18884,
        help="broker port for Home Assistant",
    )
    parser.add_argument(
        "--ready-file", type=Path, help="write a JSON summary here once everything runs"
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    root: Path = args.dir
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca, _ = DevCertificateAuthority.load_or_create(root / "pki")
    # Fixed ports: Home Assistant stores the broker address in its config entry.
    broker = MosquittoBroker.with_dev_pki(
        root / "broker",
        ca,
        lock_port=args.lock_port,
        controller_port=args.controller_port,
    )
    await asyncio.get_running_loop().run_in_executor(None, broker.start)
    settings = BrokerSettings(broker.host, broker.lock_port, broker.ca_file)
    runtimes: list[LockRuntime] = []
    try:
        for index in range(args.locks):
            runtime = LockRuntime(
                RuntimeOptions(
                    state_dir=root / f"lock-{index}",
                    device=DeviceConfig(
                        mechanism=MechanismConfig(motor_seconds=args.motor_seconds)
                    ),
                    lan=("127.0.0.1", FIRST_LAN_PORT + index),
                    broker=settings,
                    factory_ca=ca,
                    # Home Assistant (zeroconf: in config/configuration.yaml)
                    # discovers the locks on this machine.
                    zeroconf=True,
                )
            )
            try:
                await runtime.start()
            except OSError as err:
                if err.errno != errno.EADDRINUSE:
                    raise
                await runtime.stop()
                raise ValueError(
                    f"127.0.0.1:{FIRST_LAN_PORT + index} is already in use (a "
                    "simulated lock started by hand, or another scripts/develop): "
                    "stop it first"
                ) from None
            runtimes.append(runtime)
        lock_ids = [r.device.lock_id.hex() for r in runtimes if r.device is not None]
        accounts = stack_accounts(root / "accounts", lock_ids)
        broker.add_controllers(
            (account.username, account.password(), [account.topic_id])
            for account in accounts
        )
        _print_accounts(broker, accounts)
        for runtime in runtimes:
            announce(
                runtime,
                quiet=len(runtimes) > 1,
                broker_for_controllers=f"mqtts://{broker.host}:{broker.controller_port}",
            )
            print()
        if args.ready_file is not None:
            args.ready_file.write_text(
                json.dumps(
                    {
                        "broker": f"mqtts://{broker.host}:{broker.controller_port}",
                        "broker_ca": str(broker.ca_file),
                        "accounts": [
                            {
                                "username": account.username,
                                "for": account.holder.value,
                                "lock_id": account.topic_id,
                                "password_file": str(account.password_file),
                            }
                            for account in accounts
                        ],
                        "locks": [
                            {
                                "lock_id": r.device.lock_id.hex(),
                                "lan": r.lan.url if r.lan else None,
                                "state_dir": str(r.options.state_dir),
                            }
                            for r in runtimes
                            if r.device is not None
                        ],
                    },
                    indent=2,
                ),
                encoding="utf-8",
            )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        print("Stack running; Ctrl-C stops it.", flush=True)
        await stop.wait()
    finally:
        for runtime in runtimes:
            await runtime.stop()
        await asyncio.get_running_loop().run_in_executor(None, broker.stop)
    return 0


def _print_accounts(broker: MosquittoBroker, accounts: list[StackAccount]) -> None:
    print(
        f"\nMosquitto (TLS) for controllers: mqtts://{broker.host}:{broker.controller_port}"
        f", CA {broker.ca_file}"
    )
    print(
        "  One account per program and lock; never give one to two programs at"
        " once (each would push the other off the broker):"
    )
    for account in accounts:
        print(
            f"  lock {account.lock_index}, {account.holder.description}: user"
            f" {account.username}, password in {account.password_file}"
        )
    print()
