"""Entry point: `python -m device_sim COMMAND ...` (see --help)."""

from __future__ import annotations

import argparse
import sys

from . import cli_admin, cli_client, cli_firmware, cli_lock, cli_pki, cli_stack

DESCRIPTION = """\
The Secure Lock simulator and its tools.

Run a simulated lock, a development broker and PKI, a command-line
controller, build signed firmware releases, and act on a running lock as a person would (press its pairing
button, open the door, jam the bolt, drain the battery).
"""


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m device_sim",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(
        title="commands", metavar="COMMAND", required=True
    )
    cli_lock.add_parsers(subparsers)
    cli_stack.add_parsers(subparsers)
    cli_pki.add_parsers(subparsers)
    cli_client.add_parsers(subparsers)
    cli_firmware.add_parsers(subparsers)
    cli_admin.add_parsers(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the chosen command."""
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
