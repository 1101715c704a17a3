"""Sharing access from the command line: invite, join with the code, take it back."""

from __future__ import annotations

import asyncio
from pathlib import Path
import re

from device_sim.crash_test import LockProcess
from device_sim.ports import free_port

from .test_cli_profile import client, pair_cli


async def test_admin_invites_a_guest_who_joins_once_with_the_code(
    tmp_path: Path, socket_enabled: None
) -> None:
    """`client invite` prints a one-time code; `client pair CODE` joins as a guest.

    The admin's `events` shows the signed join; a second use of the code and
    a revoked invitation admit nobody; the label no longer pairs anyone.
    """
    lock = LockProcess(tmp_path / "lock", free_port())
    await lock.start()
    lan = f"ws://127.0.0.1:{lock.port}/securelock/v1"
    admin, guest, late = (
        tmp_path / "admin.json",
        tmp_path / "guest.json",
        tmp_path / "late.json",
    )
    try:
        await pair_cli(lock, admin)
        invited = await asyncio.to_thread(
            client, admin, "invite", "--role", "guest", "--valid-hours", "4"
        )
        assert invited.returncode == 0, invited.stderr
        code = re.search(
            r"setup code \(works once, until [\d:]+\): (\S+)", invited.stdout
        )
        assert code is not None, invited.stdout

        joined = await asyncio.to_thread(
            client, guest, "pair", code.group(1), "--lan", lan, "--name", "Cleaner"
        )
        assert joined.returncode == 0, joined.stderr
        assert "as guest" in joined.stdout
        assert (await asyncio.to_thread(client, guest, "unlock")).returncode == 0

        again = await asyncio.to_thread(
            client, late, "pair", code.group(1), "--lan", lan
        )
        assert again.returncode != 0
        assert "Traceback" not in again.stderr

        second = await asyncio.to_thread(client, admin, "invite", "--role", "operator")
        invitation_id = re.search(r"invitation ([0-9a-f]{32})", second.stdout)
        assert invitation_id is not None, second.stdout
        revoked = await asyncio.to_thread(
            client, admin, "revoke-invitation", invitation_id.group(1)
        )
        assert revoked.returncode == 0, revoked.stderr
        listed = await asyncio.to_thread(client, admin, "controllers")
        assert listed.returncode == 0, listed.stderr
        rows = listed.stdout.splitlines()
        assert len(rows) == 2
        assert any(" guest " in row and row.endswith("Cleaner") for row in rows)
        assert any(" admin " in row and row.endswith("Command line") for row in rows)
        state = await lock.state()
        assert [c["role"] for c in state["controllers"]].count("guest") == 1
        assert len(state["controllers"]) == 2
        assert state["open_invitations"] == 0
    finally:
        lock.kill()
