"""The simulator as a real process: its CLI, and a pairing lockout that survives kill -9."""

from __future__ import annotations

import asyncio
from pathlib import Path
import socket
import subprocess
import sys

import pytest

from custom_components.secure_lock.controller import (
    CommandRefused,
    LockClient,
    PairingFailed,
    PairingTimedOut,
    confirm_pairing,
    pair_over_link,
)
from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    ErrorCode,
    LockPin,
    ResultCode,
    SetupCode,
)
from device_sim.admin import SOCKET_NAME, AdminCommand, AdminRequest, admin_call
from device_sim.crash_test import REPO_ROOT, CrashCheckFailed, LockProcess
from device_sim.discovery import SERVICE_TYPE, service_info
from device_sim.ports import free_port
from tests.conftest import wrong_code

from .helpers import lan_link


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["lock"],
        ["client"],
        ["stack"],
        ["ca"],
        ["door"],
        ["press-button"],
        ["reset"],
    ],
    ids=lambda c: " ".join(c) or "top",
)
def test_help_explains_every_command(command: list[str]) -> None:
    """`--help` works for the program and each subcommand."""
    result = subprocess.run(
        [sys.executable, "-m", "device_sim", *command, "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


async def test_setup_code_command_prints_the_label(tmp_path: Path) -> None:
    """`device_sim setup-code` prints the 11 digits and the QR text of this lock."""
    lock = LockProcess(tmp_path / "lock", free_port())
    await lock.start()
    try:
        result = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "device_sim",
                "setup-code",
                "--state-dir",
                str(lock.state_dir),
            ],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        state = await lock.state()
    finally:
        lock.kill()
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(":", 1) for line in result.stdout.strip().splitlines())
    typed = SetupCode.parse(lines["Setup code"])
    scanned = SetupCode.parse(lines["QR text"].strip())
    assert (typed.discriminator, typed.passcode) == (
        scanned.discriminator,
        scanned.passcode,
    )
    assert scanned.pin is not None
    assert scanned.pin.lock_id.hex() == state["lock_id"]


async def _try_pairing(port: int, setup: SetupCode, timeout: float = 10) -> ErrorCode:
    async with lan_link(f"ws://127.0.0.1:{port}/securelock/v1") as link:
        try:
            await pair_over_link(
                link, ControllerIdentity.generate(), setup, "guess", timeout=timeout
            )
        except PairingFailed as err:
            return err.code
    return ErrorCode.MALFORMED  # pragma: no cover - pairing was not supposed to work


async def test_lockout_survives_kill_minus_nine(
    tmp_path: Path, socket_enabled: None
) -> None:
    """Five wrong proofs lock pairing out; a killed and restarted lock stays locked out."""
    lock = LockProcess(tmp_path / "lock", free_port())
    await lock.start()
    try:
        answer = await admin_call(
            lock.state_dir / SOCKET_NAME, AdminRequest(AdminCommand.SETUP_CODE)
        )
        real = SetupCode.parse(answer["code"])
        wrong = wrong_code(real)
        await admin_call(
            lock.state_dir / SOCKET_NAME, AdminRequest(AdminCommand.PRESS_BUTTON)
        )
        codes = [await _try_pairing(lock.port, wrong) for _ in range(6)]
        assert codes == [ErrorCode.BAD_MAC] * 5 + [ErrorCode.PAIRING_LOCKED_OUT]

        lock.kill()
        await lock.start()
        state = await lock.state()
        assert state["pairing_locked_out"] is True
        # No window after the restart: the lock does not even answer.
        with pytest.raises(PairingTimedOut):
            await _try_pairing(lock.port, real, timeout=1)

        await admin_call(
            lock.state_dir / SOCKET_NAME, AdminRequest(AdminCommand.PRESS_BUTTON)
        )
        async with lan_link(f"ws://127.0.0.1:{lock.port}/securelock/v1") as link:
            outcome = await pair_over_link(
                link, ControllerIdentity.generate(), real, "owner", timeout=10
            )
        # Paired with the 11 digits alone: the lock that answered is the QR's.
        assert SetupCode.parse(answer["qr"]).pin == LockPin(
            outcome.lock.lock_id, outcome.lock.bundle.identity.key_id
        )
    finally:
        lock.kill()


def test_zeroconf_record_carries_nothing_secret() -> None:
    """The advertisement names the lock and its firmware; no setup code, no key."""
    info = service_info(bytes(range(16)), "SL-1", "1.0.0", 8765)
    assert info.type == SERVICE_TYPE == "_securelock._tcp.local."
    assert info.port == 8765
    properties = {k.decode(): (v or b"").decode() for k, v in info.properties.items()}
    assert properties == {
        "lock_id": bytes(range(16)).hex(),
        "model": "SL-1",
        "fw": "1.0.0",
        "proto": "1",
    }


async def test_reset_command_returns_a_running_lock_to_factory_state(
    tmp_path: Path, socket_enabled: None
) -> None:
    """`device_sim reset --state-dir DIR` (the long press): the owner is refused, signed.

    The reset is durable: after kill -9 the lock is still in factory state and
    its label pairs a new owner, while the old one stays refused.
    """
    lock = LockProcess(tmp_path / "lock", free_port())
    await lock.start()
    try:
        answer = await admin_call(
            lock.state_dir / SOCKET_NAME, AdminRequest(AdminCommand.SETUP_CODE)
        )
        label = SetupCode.parse(answer["code"])
        await admin_call(
            lock.state_dir / SOCKET_NAME, AdminRequest(AdminCommand.PRESS_BUTTON)
        )
        url = f"ws://127.0.0.1:{lock.port}/securelock/v1"
        async with lan_link(url) as link:
            owner = ControllerIdentity.generate()
            outcome = await pair_over_link(link, owner, label, "owner", timeout=10)
            await confirm_pairing(link, owner, outcome.lock, timeout=10)
        assert (await lock.state())["factory_state"] is False

        reset = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "device_sim",
            "reset",
            "--state-dir",
            str(lock.state_dir),
            cwd=REPO_ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _out, err_text = await asyncio.wait_for(reset.communicate(), 60)
        assert reset.returncode == 0, err_text
        lock.kill()
        await lock.start()
        assert (await lock.state())["factory_state"] is True

        async with lan_link(url) as link:
            client = LockClient(link, owner, outcome.lock)
            await client.start()
            with pytest.raises(CommandRefused) as err:
                await client.status()
            assert err.value.code is ResultCode.REVOKED
            await client.close()
    finally:
        lock.kill()


async def test_a_lock_that_cannot_start_says_why(tmp_path: Path) -> None:
    """Its port taken: the failure quotes the lock's own error, and leaves no file."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        lock = LockProcess(tmp_path / "lock", squatter.getsockname()[1])
        with pytest.raises(CrashCheckFailed, match="exited with 1 on start: .+"):
            await lock.start()
    assert sorted(path.name for path in tmp_path.iterdir()) in ([], ["lock"])
