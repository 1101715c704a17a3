"""Entry point: `.venvs/latest/bin/python -m device_sim COMMAND ...` (see --help)."""

from __future__ import annotations

import argparse
import sys

from . import PROG, cli_admin, cli_client, cli_firmware, cli_lock, cli_pki, cli_stack
from .cli_errors import EXPECTED_ERRORS, describe

DESCRIPTION = """\
The Secure Lock simulator and its tools.

Run a simulated lock, a development broker and PKI, a command-line
controller, build signed firmware releases, and act on a running lock as a person would (press its pairing
button, open the door, jam the bolt, drain the battery).
"""


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog=PROG,
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
    """Parse arguments and run the chosen command.

    An expected failure (nothing listening, a wrong code, a refusal, an
    address in use) prints one line on stderr and exits 1; Ctrl-C exits 130.
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130
    except EXPECTED_ERRORS as err:
        print(f"error: {describe(err)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
