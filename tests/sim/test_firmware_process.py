"""Firmware updates against the simulator as a real process: the CLI, and kill -9."""

from __future__ import annotations

import asyncio
from pathlib import Path
import subprocess
import sys

import pytest

from device_sim.admin import SOCKET_NAME, AdminCommand, AdminRequest, admin_call
from device_sim.crash_test import REPO_ROOT, LockProcess
from device_sim.firmware_crash_test import run as run_firmware_crash_loop
from device_sim.ports import free_port


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "device_sim", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize(
    "command",
    [
        ["firmware"],
        ["firmware", "keygen"],
        ["firmware", "release"],
        ["firmware", "show"],
        ["client", "--profile", "p", "update"],
        ["client", "--profile", "p", "firmware-status"],
        ["self-check"],
    ],
    ids=" ".join,
)
def test_help_explains_the_firmware_commands(command: list[str]) -> None:
    """`--help` works for every firmware command and option."""
    result = _cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


async def test_cli_keygen_release_and_client_update(
    tmp_path: Path, socket_enabled: None
) -> None:
    """The manufacturer tools and the CLI controller update a running lock end to end."""
    keys, release = tmp_path / "keys", tmp_path / "release-1.1.0"
    assert _cli("firmware", "keygen", str(keys)).returncode == 0
    assert (keys / "release.key").stat().st_mode & 0o077 == 0
    again = _cli("firmware", "keygen", str(keys))
    assert again.returncode == 1  # never overwrites
    assert again.stderr.startswith("error: ")
    assert len(again.stderr.splitlines()) == 1
    made = _cli(
        "firmware", "release", "--key", str(keys / "release.key"), "--version",
        "1.1.0", "--security-version", "2", "--test-image-size", "20000",
        "--notes", "CLI test", "--out", str(release),
    )  # fmt: skip
    assert made.returncode == 0, made.stdout
    assert {p.name for p in release.iterdir()} == {
        "manifest.slfw",
        "image.bin",
        "release.json",
    }
    shown = _cli(
        "firmware", "show", str(release), "--public-key", str(keys / "release.pub")
    )
    assert "signatures       verified" in shown.stdout

    lock = LockProcess(
        tmp_path / "lock",
        free_port(),
        ("--release-key", str(keys / "release.pub"), "--reboot-seconds", "0"),
    )
    await lock.start()
    try:
        socket = lock.state_dir / SOCKET_NAME
        code = (await admin_call(socket, AdminRequest(AdminCommand.SETUP_CODE)))["code"]
        await admin_call(socket, AdminRequest(AdminCommand.PRESS_BUTTON))
        profile = str(tmp_path / "admin.json")
        lan = f"ws://127.0.0.1:{lock.port}/securelock/v1"
        paired = await asyncio.to_thread(
            _cli, "client", "--profile", profile, "pair", code, "--lan", lan
        )
        assert paired.returncode == 0, paired.stdout
        updated = await asyncio.to_thread(
            _cli, "client", "--profile", profile, "update", str(release), "--rate", "0"
        )
        assert updated.returncode == 0, updated.stdout
        assert "lock runs firmware 1.1.0" in updated.stdout
        status = await asyncio.to_thread(
            _cli, "client", "--profile", profile, "firmware-status"
        )
        assert "running 1.1.0 (slot B)" in status.stdout
        assert "security version floor 2" in status.stdout
        again = await asyncio.to_thread(
            _cli, "client", "--profile", profile, "update", str(release), "--rate", "0"
        )
        assert again.returncode == 1
        assert "firmware_not_newer" in again.stderr
        assert (await lock.state())["firmware_version"] == "1.1.0"
    finally:
        lock.kill()


async def test_kill_minus_nine_during_transfer_and_install(
    tmp_path: Path, socket_enabled: None
) -> None:
    """Killed mid-stream and mid-install, the lock restarts on a working slot and resumes.

    A short loop; `python -m device_sim.firmware_crash_test --cycles 50` runs a long one.
    """
    report = await run_firmware_crash_loop(4, tmp_path, seed=8)
    assert report.kills_during_transfer == 2
    assert report.kills_during_install == 2
