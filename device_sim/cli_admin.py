"""Command-line access to a running simulator's admin channel."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from .admin import KEYPAD_LOCK_KEY, SOCKET_NAME, AdminCommand, AdminRequest, admin_call

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
    AdminCommand.KEYPAD: (
        "type a PIN on the keypad (a code that may open now unlocks), "
        "or press its lock key: lock"
    ),
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
    AdminCommand.KEYPAD: {"metavar": "PIN|lock"},
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
        if command is not AdminCommand.STATE:
            parser.add_argument(
                "--json",
                action="store_true",
                help="print the simulator's full answer (the lock's state) as JSON",
            )
        parser.set_defaults(handler=_run, admin_command=command)


def _run(args: argparse.Namespace) -> int:
    command: AdminCommand = args.admin_command
    value = getattr(args, "value", None)
    # An AdminError (no lock running, a refusal) becomes one line in __main__.
    answer = asyncio.run(
        admin_call(args.state_dir / SOCKET_NAME, AdminRequest(command, value))
    )
    answer.pop("ok", None)
    if command is AdminCommand.STATE or getattr(args, "json", False):
        print(json.dumps(answer, indent=2, sort_keys=True) if answer else "done")
    else:
        print(sentence(command, value, answer))
    return 0


def sentence(command: AdminCommand, value: object, answer: dict[str, Any]) -> str:
    """Say in one sentence what the simulator did (the lock's state: `--json`)."""
    state: dict[str, Any] = answer.get("state", {})
    bolt = state.get("bolt", "unknown")
    match command:
        case AdminCommand.PRESS_BUTTON:
            return "Pairing button pressed: the lock accepts pairing for 120 s."
        case AdminCommand.DOOR:
            return f"The door is now {value}; the bolt is {bolt}."
        case AdminCommand.JAM:
            return "The next motor operation will jam."
        case AdminCommand.BATTERY:
            return f"Battery set to {value:g} %."
        case AdminCommand.CLOCK_SKEW:
            return f"The lock's clock moved by {value:g} s."
        case AdminCommand.TURN:
            return f"Turned by hand; the bolt is {bolt}."
        case AdminCommand.KEYPAD if value == KEYPAD_LOCK_KEY:
            return f"Keypad lock key pressed; the bolt is {bolt}."
        case AdminCommand.KEYPAD:
            # Never echo the PIN: the verdict is enough.
            return f"Keypad: {answer.get('keypad', 'done')}; the bolt is {bolt}."
        case AdminCommand.TAMPER:
            return "Tamper alarm raised."
        case AdminCommand.OFFLINE:
            return "The lock's network links are down (LAN and broker)."
        case AdminCommand.ONLINE:
            return "The lock's network links are back."
        case AdminCommand.SETUP_CODE:
            return f"Setup code: {answer['code']}\nQR text:    {answer['qr']}"
        case AdminCommand.SELF_CHECK:
            return f"The next firmware self-check will {value}."
    return "done"
