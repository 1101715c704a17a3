"""The simulator's local admin channel: validation, permissions, resilience."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
import stat
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from device_sim.admin import (
    MAX_LINE_BYTES,
    AdminCommand,
    AdminError,
    AdminRequest,
    AdminServer,
    admin_call,
    parse_request,
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'{"command": "press-button"}', AdminRequest(AdminCommand.PRESS_BUTTON)),
        (
            b'{"command": "door", "argument": "open"}',
            AdminRequest(AdminCommand.DOOR, "open"),
        ),
        (
            b'{"command": "battery", "argument": 12}',
            AdminRequest(AdminCommand.BATTERY, 12.0),
        ),
        (
            b'{"command": "clock-skew", "argument": -90.5}',
            AdminRequest(AdminCommand.CLOCK_SKEW, -90.5),
        ),
        (
            b'{"command": "keypad", "argument": "0123456789"}',
            AdminRequest(AdminCommand.KEYPAD, "0123456789"),
        ),
        (
            b'{"command": "keypad", "argument": "lock"}',
            AdminRequest(AdminCommand.KEYPAD, "lock"),
        ),
    ],
)
def test_parse_valid(line: bytes, expected: AdminRequest) -> None:
    """Valid requests parse to typed values."""
    assert parse_request(line) == expected
    assert parse_request(expected.to_line().strip()) == expected


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "needs a command"),
        (b'{"command": 3}', "needs a command"),
        (b'{"command": "explode"}', "unknown command"),
        (b'{"command": "door", "argument": "ajar"}', "takes one of"),
        (b'{"command": "battery", "argument": "full"}', "takes a number"),
        (b'{"command": "battery", "argument": true}', "takes a number"),
        (b'{"command": "battery", "argument": 101}', "from 0 to 100"),
        # Found by bench/fuzz.py: unhashable and oversized arguments.
        (b'{"command": "door", "argument": []}', "takes one of"),
        (b'{"command": "turn", "argument": {}}', "takes one of"),
        (b'{"command": "battery", "argument": 1' + b"0" * 400 + b"}", "from 0 to 100"),
        (b'{"command": "battery", "argument": NaN}', "from 0 to 100"),
        (b'{"command": "state", "argument": 1}', "takes no argument"),
        (b'{"command": "keypad", "argument": "unlock"}', "takes digits"),
        (b'{"command": "keypad", "argument": 123456}', "takes digits"),
        (
            b'{"command": "keypad", "argument": "' + b"1" * 17 + b'"}',
            "takes digits",
        ),
        (rb'{"command": "keypad", "argument": "\u0663\u0664"}', "takes digits"),
        (b"x" * (MAX_LINE_BYTES + 1), "too long"),
    ],
)
def test_parse_rejects(line: bytes, message: str) -> None:
    """Malformed requests raise AdminError with a clear message."""
    with pytest.raises(AdminError, match=message):
        parse_request(line)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_parse_only_raises_admin_error(line: bytes) -> None:
    """Any bytes either parse or raise AdminError, nothing else."""
    with contextlib.suppress(AdminError):
        parse_request(line)


async def test_server_round_trip_permissions_and_bad_input(tmp_path: Path) -> None:
    """The socket is owner-only, answers requests, and survives garbage."""
    seen: list[AdminRequest] = []

    async def handler(request: AdminRequest) -> dict[str, Any]:
        seen.append(request)
        if request.command is AdminCommand.OFFLINE:
            raise AdminError("already offline")
        return {"state": "locked"}

    server = AdminServer(tmp_path / "admin.sock", handler)
    await server.start()
    try:
        mode = stat.S_IMODE((tmp_path / "admin.sock").stat().st_mode)
        assert mode & 0o077 == 0

        answer = await admin_call(
            tmp_path / "admin.sock", AdminRequest(AdminCommand.STATE)
        )
        assert answer == {"ok": True, "state": "locked"}
        with pytest.raises(AdminError, match="already offline"):
            await admin_call(
                tmp_path / "admin.sock", AdminRequest(AdminCommand.OFFLINE)
            )

        reader, writer = await asyncio.open_unix_connection(
            str(tmp_path / "admin.sock")
        )
        writer.write(b"garbage\n" + b"y" * (MAX_LINE_BYTES + 10) + b"\n")
        await writer.drain()
        first = await reader.readline()
        second = await reader.readline()
        writer.close()
        await writer.wait_closed()
        assert b"not JSON" in first
        assert b"too long" in second

        # Still serving after the bad client.
        answer = await admin_call(
            tmp_path / "admin.sock", AdminRequest(AdminCommand.STATE)
        )
        assert answer["ok"] is True
        assert [r.command for r in seen] == [
            AdminCommand.STATE,
            AdminCommand.OFFLINE,
            AdminCommand.STATE,
        ]
    finally:
        await server.close()
    assert not (tmp_path / "admin.sock").exists()


async def test_call_without_simulator(tmp_path: Path) -> None:
    """Calling a simulator that is not running says so plainly."""
    with pytest.raises(AdminError, match="no simulated lock is running"):
        await admin_call(tmp_path / "missing.sock", AdminRequest(AdminCommand.STATE))
