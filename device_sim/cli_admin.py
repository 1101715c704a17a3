"""Command-line access to a running simulator's admin channel."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from .admin import SOCKET_NAME, AdminCommand, AdminError, AdminRequest, admin_call

_HELP: dict[AdminCommand, str] = {
    AdminCommand.PRESS_BUTTON: "press the pairing button (opens pairing mode for 120 s)",
    AdminCommand.RESET: (
        "hold the reset button (long press): forget every controller, "
        "invitation and key, back to factory state"
    ),
    AdminCommand.DOOR: "set the door sensor: open or closed",
    AdminCommand.JAM: "make the next motor operation jam",
    AdminCommand.BATTERY: "set the battery level in percent (0-100)",
    AdminCommand.CLOCK_SKEW: "shift the lock's clock by this many seconds",
    AdminCommand.TURN: "turn the thumb turn by hand: lock or unlock",
    AdminCommand.KEYPAD: "enter a correct keypad code: lock or unlock",
    AdminCommand.TAMPER: "simulate someone forcing the housing",
    AdminCommand.OFFLINE: "drop the lock's network links (LAN and broker)",
    AdminCommand.ONLINE: "bring the lock's network links back",
    AdminCommand.STATE: "print the lock's state (no secrets)",
    AdminCommand.SETUP_CODE: "print the setup code and QR text again",
    AdminCommand.SELF_CHECK: "make the next firmware self-check fail (or pass again)",
}
_ARGUMENT: dict[AdminCommand, dict[str, object]] = {
    AdminCommand.DOOR: {"choices": ["open", "closed"]},
    AdminCommand.TURN: {"choices": ["lock", "unlock"]},
    AdminCommand.KEYPAD: {"choices": ["lock", "unlock"]},
    AdminCommand.SELF_CHECK: {"choices": ["fail", "pass"]},
    AdminCommand.BATTERY: {"type": float},
    AdminCommand.CLOCK_SKEW: {"type": float},
}


def add_parsers(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add one subcommand per admin command."""
    for command in AdminCommand:
        parser = subparsers.add_parser(
            command.value,
            help=_HELP[command],
            description=f"{_HELP[command].capitalize()}, on a running simulated lock.",
        )
        parser.add_argument(
            "--state-dir",
            type=Path,
            required=True,
            help="the simulated lock's state directory (holds its admin socket)",
        )
        if command in _ARGUMENT:
            parser.add_argument("value", **_ARGUMENT[command])  # type: ignore[arg-type]
        parser.set_defaults(handler=_run, admin_command=command)


def _run(args: argparse.Namespace) -> int:
    command: AdminCommand = args.admin_command
    request = AdminRequest(command, getattr(args, "value", None))
    try:
        answer = asyncio.run(admin_call(args.state_dir / SOCKET_NAME, request))
    except AdminError as err:
        print(f"error: {err}")
        return 1
    answer.pop("ok", None)
    print(json.dumps(answer, indent=2, sort_keys=True) if answer else "done")
    return 0
