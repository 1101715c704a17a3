"""`device_sim ca` and `broker`: the development PKI and relay."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import broker
from .pki import DevCertificateAuthority, write_issued


def add_parsers(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add the `ca` and `broker` subcommands."""
    ca = subparsers.add_parser(
        "ca",
        help="create the dev manufacturer CA and issue broker certificates",
        description=(
            "Create a development manufacturer root CA (Ed25519) in DIR (ca.crt, "
            "ca.key, 0600), or reuse the one there, and optionally issue a broker "
            "server certificate (SAN localhost, 127.0.0.1). Locks get their device "
            "certificates from it at first boot (`lock --factory-ca DIR`)."
        ),
    )
    ca.add_argument("directory", type=Path, help="where the CA lives")
    ca.add_argument(
        "--issue-broker", action="store_true", help="also write broker.crt/broker.key"
    )
    ca.set_defaults(handler=_ca)

    relay = subparsers.add_parser(
        "broker",
        help="run the development Mosquitto (TLS, mTLS for locks, ACLs)",
        description="Run Mosquitto on 127.0.0.1 with the dev PKI; see docs/transport.md.",
        add_help=False,
    )
    relay.add_argument(
        "rest",
        nargs=argparse.REMAINDER,
        help="arguments for the broker (see `broker -h`)",
    )
    relay.set_defaults(handler=lambda args: broker.main(args.rest))


def _ca(args: argparse.Namespace) -> int:
    directory: Path = args.directory
    if (directory / "ca.crt").exists():
        authority = DevCertificateAuthority.load(
            directory / "ca.crt", directory / "ca.key"
        )
        print(f"using the CA in {directory}")
    else:
        authority = DevCertificateAuthority.create()
        authority.save(directory)
        print(f"created a CA in {directory}")
    if args.issue_broker:
        files = write_issued(authority.issue_broker(), directory, "broker")
        print(f"broker certificate {files.cert}, key {files.key}")
    return 0
