"""The simulator's local admin channel: the physical world, for developers and tests.

Pressing the pairing button, opening the door, jamming the bolt or draining
the battery are things a person does to a real lock with their hands.  The
simulator takes them over a Unix socket in its state directory (mode 0600, so
only the owner of the simulator can press its button), one JSON object per
line in each direction.  It never carries protocol traffic or secrets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass
from enum import StrEnum
import json
import logging
import math
import os
from pathlib import Path
from typing import Any

_LOGGER = logging.getLogger(__name__)

MAX_LINE_BYTES = 4096
KEYPAD_LOCK_KEY = "lock"
"""The keypad argument that presses its lock key; anything else is typed digits."""
MAX_KEYPAD_KEYS = 16
READ_TIMEOUT_SECONDS = 10.0
SOCKET_NAME = "admin.sock"


class AdminCommand(StrEnum):
    """What a developer can do to the simulated lock."""

    PRESS_BUTTON = "press-button"
    RESET = "reset"
    DOOR = "door"
    JAM = "jam"
    BATTERY = "battery"
    CLOCK_SKEW = "clock-skew"
    TURN = "turn"
    KEYPAD = "keypad"
    TAMPER = "tamper"
    OFFLINE = "offline"
    ONLINE = "online"
    STATE = "state"
    SETUP_CODE = "setup-code"
    SELF_CHECK = "self-check"


# Which argument each command takes: None, a choice from a set, or a number.
_CHOICES: dict[AdminCommand, frozenset[str]] = {
    AdminCommand.DOOR: frozenset({"open", "closed"}),
    AdminCommand.TURN: frozenset({"lock", "unlock"}),
    AdminCommand.SELF_CHECK: frozenset({"fail", "pass"}),
}
_NUMBERS: dict[AdminCommand, tuple[float, float]] = {
    AdminCommand.BATTERY: (0.0, 100.0),
    AdminCommand.CLOCK_SKEW: (-86400.0 * 365, 86400.0 * 365),
}


class AdminError(Exception):
    """A request the admin channel cannot carry out; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class AdminRequest:
    """One validated request."""

    command: AdminCommand
    argument: str | float | None = None

    def to_line(self) -> bytes:
        """Encode as one JSON line."""
        return (
            json.dumps(
                {"command": self.command.value, "argument": self.argument}
            ).encode()
            + b"\n"
        )


def parse_request(line: bytes) -> AdminRequest:
    """Validate one request line; anything malformed raises AdminError."""
    if len(line) > MAX_LINE_BYTES:
        raise AdminError("request too long")
    try:
        data = json.loads(line)
    except (UnicodeDecodeError, ValueError) as err:
        raise AdminError("request is not JSON") from err
    if not isinstance(data, dict) or not isinstance(data.get("command"), str):
        raise AdminError("request needs a command")
    try:
        command = AdminCommand(data["command"])
    except ValueError as err:
        raise AdminError(
            f"unknown command; known: {', '.join(c.value for c in AdminCommand)}"
        ) from err
    argument = data.get("argument")
    if command is AdminCommand.KEYPAD:
        return AdminRequest(command, _keypad_keys(argument))
    if command in _CHOICES:
        # A list or object is unhashable: check the type before the set lookup.
        if not isinstance(argument, str) or argument not in _CHOICES[command]:
            raise AdminError(
                f"{command.value} takes one of: {', '.join(sorted(_CHOICES[command]))}"
            )
        return AdminRequest(command, argument)
    if command in _NUMBERS:
        low, high = _NUMBERS[command]
        if isinstance(argument, bool) or not isinstance(argument, (int, float)):
            raise AdminError(f"{command.value} takes a number")
        try:
            value = float(argument)
        except OverflowError:
            # JSON integers have no size limit; one too big for a float is out of range.
            value = math.nan
        if not low <= value <= high:
            raise AdminError(f"{command.value} takes a number from {low:g} to {high:g}")
        return AdminRequest(command, value)
    if argument is not None:
        raise AdminError(f"{command.value} takes no argument")
    return AdminRequest(command)


def _keypad_keys(argument: object) -> str:
    """Accept what a keypad can send: its lock key, or up to 16 digits."""
    if argument == KEYPAD_LOCK_KEY:
        return KEYPAD_LOCK_KEY
    if (
        not isinstance(argument, str)
        or not argument.isascii()
        or not argument.isdigit()
        or len(argument) > MAX_KEYPAD_KEYS
    ):
        raise AdminError(f"keypad takes digits (a PIN) or {KEYPAD_LOCK_KEY}")
    return argument


type AdminHandler = Callable[[AdminRequest], Awaitable[dict[str, Any]]]


class AdminServer:
    """Serves the admin channel on a Unix socket until closed."""

    def __init__(self, socket_path: Path, handler: AdminHandler) -> None:
        """Prepare to serve `handler` at `socket_path`."""
        self.socket_path = socket_path
        self._handler = handler
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Create the socket, readable and writable by the owner only."""
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        old_umask = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(
                self._serve_client, path=str(self.socket_path), limit=MAX_LINE_BYTES + 1
            )
        finally:
            os.umask(old_umask)

    async def close(self) -> None:
        """Stop serving and remove the socket."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                try:
                    async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                        line = await reader.readline()
                except TimeoutError, ValueError, ConnectionError:
                    # ValueError: a line longer than the stream limit.
                    writer.write(
                        _reply({"ok": False, "error": "request too long or too slow"})
                    )
                    break
                if not line:
                    break
                writer.write(_reply(await self._answer(line)))
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = parse_request(line.strip())
        except AdminError as err:
            _LOGGER.info("Admin channel: rejected a request: %s", err)
            return {"ok": False, "error": str(err)}
        try:
            result = await self._handler(request)
        except AdminError as err:
            return {"ok": False, "error": str(err)}
        return {"ok": True, **result}


def _reply(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True).encode() + b"\n"


async def admin_call(socket_path: Path, request: AdminRequest) -> dict[str, Any]:
    """Send one request to a running simulator and return its answer."""
    try:
        reader, writer = await asyncio.open_unix_connection(str(socket_path))
    except (FileNotFoundError, ConnectionRefusedError) as err:
        raise AdminError(f"no simulated lock is running at {socket_path}") from err
    try:
        writer.write(request.to_line())
        await writer.drain()
        async with asyncio.timeout(READ_TIMEOUT_SECONDS):
            line = await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    try:
        answer = json.loads(line)
    except ValueError as err:
        raise AdminError("the simulator sent an unreadable answer") from err
    if not isinstance(answer, dict):
        raise AdminError("the simulator sent an unreadable answer")
    if not answer.get("ok"):
        raise AdminError(str(answer.get("error", "request failed")))
    return answer
