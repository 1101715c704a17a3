"""One CLI profile shared by several real processes: no crash, no lost progress."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
import signal
import subprocess
import sys
import textwrap
import threading

from custom_components.secure_lock.protocol import ControllerIdentity, PairedLock, Role
from device_sim.admin import SOCKET_NAME, AdminCommand, AdminRequest, admin_call
from device_sim.cli_profile import Connection, Profile
from device_sim.crash_test import REPO_ROOT, LockProcess
from device_sim.ports import free_port

TIMEOUT = 60


def client(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `device_sim client` as its own process and wait for it."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "device_sim",
            "client",
            "--profile",
            str(profile),
            *args,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT,
    )


async def pair_cli(lock: LockProcess, profile: Path) -> None:
    """Press the lock's button and pair the command-line client with it."""
    socket = lock.state_dir / SOCKET_NAME
    code = (await admin_call(socket, AdminRequest(AdminCommand.SETUP_CODE)))["code"]
    await admin_call(socket, AdminRequest(AdminCommand.PRESS_BUTTON))
    result = await asyncio.to_thread(
        client,
        profile,
        "pair",
        code,
        "--lan",
        f"ws://127.0.0.1:{lock.port}/securelock/v1",
    )
    assert result.returncode == 0, result.stdout + result.stderr


async def test_events_and_commands_share_one_profile(
    tmp_path: Path, socket_enabled: None
) -> None:
    """`events` in one process keeps printing while others lock and unlock.

    The lock closes LAN connections that do not authenticate within a
    deadline (1 s here): `events` proves itself with a signed request first,
    so it keeps its connection for as long as it runs.
    """
    lock = LockProcess(
        tmp_path / "lock", free_port(), extra_args=("--lan-auth-deadline", "1")
    )
    await lock.start()
    profile = tmp_path / "me.json"
    try:
        await pair_cli(lock, profile)
        events = subprocess.Popen(  # noqa: ASYNC220 - a second real process on purpose
            [
                sys.executable,
                "-m",
                "device_sim",
                "client",
                "--profile",
                str(profile),
                "events",
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: list[str] = []
        assert events.stdout is not None
        reader = threading.Thread(target=lambda: lines.extend(events.stdout or ()))
        reader.start()
        try:
            # Events reach every connection of the lock: once `events` prints
            # a door change, it is listening.
            door = "open"
            async with asyncio.timeout(TIMEOUT):
                while not any("event=door_changed" in line for line in lines):
                    await admin_call(
                        lock.state_dir / SOCKET_NAME,
                        AdminRequest(AdminCommand.DOOR, door),
                    )
                    door = "closed" if door == "open" else "open"
                    await asyncio.sleep(0.05)  # noqa: ASYNC110 - a pipe, no event
            await admin_call(
                lock.state_dir / SOCKET_NAME, AdminRequest(AdminCommand.DOOR, "closed")
            )
            for round_ in range(3):
                for action in ("unlock", "lock"):
                    result = await asyncio.to_thread(client, profile, action)
                    assert result.returncode == 0, (round_, result.stderr)
                    assert result.stdout.strip().endswith(f"ok: lock is {action}ed")
                    assert result.stderr == ""

            def bolt_events(state: str) -> int:
                return sum(
                    f"lock={state} " in line and "event=state_changed" in line
                    for line in lines
                )

            # One profile is one controller: the lock tells it how a command
            # ended in the signed result, to the process that asked; `events`
            # sees each command start.
            async with asyncio.timeout(TIMEOUT):
                while bolt_events("locking") < 3:  # noqa: ASYNC110 - a pipe, no event
                    await asyncio.sleep(0.01)
            assert bolt_events("unlocking") == 3
        finally:
            events.send_signal(signal.SIGINT)
            _, err = await asyncio.to_thread(events.communicate, timeout=TIMEOUT)
            reader.join(TIMEOUT)
        assert events.returncode == 0, err
        assert err == ""
        # The profile is whole, still works, and no temporary file is left.
        assert Profile.load(profile).lock is not None
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            ".me.json.lock",
            "lock",
            "me.json",
        ]
        status = await asyncio.to_thread(client, profile, "status")
        assert status.returncode == 0, status.stderr
    finally:
        lock.kill()


_WORKER = textwrap.dedent(
    """
    import sys
    from dataclasses import replace
    from pathlib import Path
    from device_sim.cli_profile import Profile

    path, start, rounds = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    profile = Profile.load(path)
    for n in range(start, start + 2 * rounds, 2):
        profile.lock = replace(profile.lock, last_sent_counter=n, lock_high_water=n)
        profile.save(path)
        Profile.load(path)  # a reader never sees a half-written file
    """
)


def test_two_processes_saving_one_profile_never_lose_progress(tmp_path: Path) -> None:
    """Two writers, interleaved: counters only move forward, nothing is damaged."""
    lock_identity = ControllerIdentity.generate()
    path = tmp_path / "me.json"
    Profile(
        ControllerIdentity.generate(),
        Connection(lan_url="ws://127.0.0.1:1/securelock/v1"),
        PairedLock(
            bytes(16),
            lock_identity.public_bundle(),
            lock_identity.public_bundle().prekeys[0].suite,
            Role.ADMIN,
        ),
    ).save(path, replace_existing=True)
    rounds = 150
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(path), str(start), str(rounds)],
            cwd=REPO_ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for start in (1, 2)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=TIMEOUT)
        assert worker.returncode == 0, err
    stored = Profile.load(path)
    assert stored.lock is not None
    # The highest value either process wrote survives, whoever wrote last.
    top = 2 * rounds
    assert stored.lock.last_sent_counter == top
    assert stored.lock.lock_high_water == top
    assert [p.name for p in tmp_path.iterdir() if p.name != "me.json"] == [
        ".me.json.lock"
    ]
    # A stale copy saved later does not move the counters back.
    stale = replace(stored.lock, last_sent_counter=1, lock_high_water=1)
    Profile(stored.identity, stored.connection, stale).save(path)
    again = Profile.load(path).lock
    assert again is not None
    assert again.last_sent_counter == top
