"""Every expected CLI failure: one clear line on stderr, exit 1, no traceback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import json
from pathlib import Path
import subprocess
import sys

from custom_components.secure_lock.controller import PairingFailed
from custom_components.secure_lock.protocol import SetupCode
from custom_components.secure_lock.protocol.errors import ErrorCode
from device_sim.admin import SOCKET_NAME, AdminCommand, AdminRequest, admin_call
from device_sim.broker import MosquittoBroker
from device_sim.cli_errors import describe
from device_sim.crash_test import REPO_ROOT, LockProcess
from device_sim.pki import DevCertificateAuthority
from device_sim.ports import free_port

from .test_cli_profile import pair_cli

TIMEOUT = 60


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `device_sim` as a user would and wait for it."""
    return subprocess.run(
        [sys.executable, "-m", "device_sim", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT,
    )


async def run_async(*args: str) -> subprocess.CompletedProcess[str]:
    """`run` without blocking the event loop (a lock may share it)."""
    return await asyncio.to_thread(run, *args)


def assert_one_line_error(
    result: subprocess.CompletedProcess[str], expected: str
) -> None:
    """Exit 1 and exactly one `error: ...` line on stderr that says `expected`."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert expected in lines[0], lines[0]


@contextlib.asynccontextmanager
async def running_lock(state_dir: Path) -> AsyncIterator[LockProcess]:
    """Run a simulated lock as its own process.

    Started inside the test, not in a fixture: Unix sockets (its admin
    channel) are allowed only once fixtures are set up (tests/conftest.py).
    """
    process = LockProcess(state_dir, free_port())
    await process.start()
    try:
        yield process
    finally:
        process.kill()


async def _setup_code(lock: LockProcess) -> str:
    answer = await admin_call(
        lock.state_dir / SOCKET_NAME, AdminRequest(AdminCommand.SETUP_CODE)
    )
    code: str = answer["code"]
    return code


def _lan(lock: LockProcess) -> str:
    return f"ws://127.0.0.1:{lock.port}/securelock/v1"


async def test_address_in_use(tmp_path: Path) -> None:
    """A second lock on a taken port says which address and what to do."""
    async with running_lock(tmp_path / "lock") as lock:
        result = await run_async(
            "lock",
            "--state-dir",
            str(tmp_path / "second"),
            "--listen",
            f"127.0.0.1:{lock.port}",
            "--quiet",
        )
        assert_one_line_error(result, f"127.0.0.1:{lock.port} is already in use")
        assert "--listen" in result.stderr


async def test_pairing_failures(tmp_path: Path) -> None:
    """Unreachable, typo, not in pairing mode, another lock's code: one line each."""
    async with running_lock(tmp_path / "lock") as lock:
        profile = str(tmp_path / "me.json")
        code = await _setup_code(lock)
        unreachable = f"ws://127.0.0.1:{free_port()}/securelock/v1"
        assert_one_line_error(
            await run_async(
                "client", "--profile", profile, "pair", code, "--lan", unreachable
            ),
            f"cannot reach the lock ({unreachable}",
        )
        assert_one_line_error(
            await run_async(
                "client",
                "--profile",
                profile,
                "pair",
                # A typo in the last character (never the character itself).
                code[:-1] + ("1" if code[-1] == "0" else "0"),
                "--lan",
                _lan(lock),
            ),
            "This setup code is not valid",
        )
        assert_one_line_error(
            await run_async(
                "client", "--profile", profile, "pair", code, "--lan", _lan(lock)
            ),
            "The lock did not pair. If it is new or was reset, press its pairing button",
        )
        other = LockProcess(tmp_path / "other", free_port())
        await other.start()
        try:
            await admin_call(
                other.state_dir / SOCKET_NAME, AdminRequest(AdminCommand.PRESS_BUTTON)
            )
            assert_one_line_error(
                await run_async(
                    "client", "--profile", profile, "pair", code, "--lan", _lan(other)
                ),
                # The lock does not answer another lock's code; the hint names it.
                "check that the setup code is this lock's",
            )
        finally:
            other.kill()
        assert not Path(profile).exists()


async def test_broker_options_are_checked(tmp_path: Path) -> None:
    """No TLS is refused as on the lock side; a broker without its CA is an error."""
    async with running_lock(tmp_path / "lock") as lock:
        profile = str(tmp_path / "me.json")
        code = await _setup_code(lock)
        plain = await run_async(
            "client",
            "--profile",
            profile,
            "pair",
            code,
            "--broker",
            "mqtt://127.0.0.1:1883",
        )
        assert_one_line_error(plain, "--broker takes mqtts://HOST:PORT (TLS only)")
        lock_side = await run_async(
            "lock",
            "--state-dir",
            str(tmp_path / "x"),
            "--broker",
            "mqtt://127.0.0.1:1883",
        )
        assert lock_side.stderr == plain.stderr
        assert_one_line_error(
            await run_async(
                "client",
                "--profile",
                profile,
                "pair",
                code,
                "--lan",
                _lan(lock),
                "--broker",
                "mqtts://127.0.0.1:18884",
            ),
            "--broker needs --broker-ca",
        )
        not_a_ca = Path(__file__)
        assert_one_line_error(
            await run_async(
                "client",
                "--profile",
                profile,
                "pair",
                code,
                "--broker",
                "mqtts://127.0.0.1:18884",
                "--broker-ca",
                str(not_a_ca),
            ),
            f"--broker-ca {not_a_ca}: not a readable PEM CA certificate",
        )
        assert not Path(profile).exists()


async def test_refusals_read_as_home_assistant_says_them(tmp_path: Path) -> None:
    """A jam and an open door: the sentence, not `jammed motor jammed`."""
    async with running_lock(tmp_path / "lock") as lock:
        profile = tmp_path / "me.json"
        await pair_cli(lock, profile)
        socket = lock.state_dir / SOCKET_NAME
        await admin_call(socket, AdminRequest(AdminCommand.JAM))
        assert_one_line_error(
            await run_async("client", "--profile", str(profile), "unlock"),
            "The lock is jammed: the motor could not move the bolt.",
        )
        await admin_call(socket, AdminRequest(AdminCommand.TURN, "unlock"))
        await admin_call(socket, AdminRequest(AdminCommand.DOOR, "open"))
        assert_one_line_error(
            await run_async("client", "--profile", str(profile), "lock"),
            "The lock did not lock because the door is open.",
        )
        assert_one_line_error(
            await run_async("client", "--profile", str(tmp_path / "none.json"), "lock"),
            "no profile at",
        )


async def test_admin_commands_say_one_sentence(tmp_path: Path) -> None:
    """press-button, door and jam print a sentence; --json the full answer."""
    async with running_lock(tmp_path / "lock") as lock:
        state_dir = str(lock.state_dir)
        for args, text in (
            (
                ("press-button",),
                "Pairing button pressed: the lock accepts pairing for 120 s.",
            ),
            (("door", "open"), "The door is now open; the bolt is locked."),
            (("jam",), "The next motor operation will jam."),
        ):
            result = await run_async(*args, "--state-dir", state_dir)
            assert result.returncode == 0, result.stderr
            assert result.stdout.splitlines() == [text]
        dump = await run_async("door", "closed", "--state-dir", state_dir, "--json")
        assert json.loads(dump.stdout)["state"]["door"] == "closed"
        assert_one_line_error(
            await run_async("door", "open", "--state-dir", str(tmp_path / "nothing")),
            "no simulated lock is running",
        )


async def test_pairing_with_lan_and_broker_keeps_both(
    tmp_path: Path, broker: MosquittoBroker, ca: DevCertificateAuthority
) -> None:
    """--lan and --broker: both are kept, and the broker carries on when the LAN fails."""
    ca.save(tmp_path / "factory")
    lock_args = (
        "--broker",
        f"mqtts://127.0.0.1:{broker.lock_port}",
        "--broker-ca",
        str(broker.ca_file),
        "--factory-ca",
        str(tmp_path / "factory"),
    )
    lock = LockProcess(tmp_path / "lock", free_port(), lock_args)
    await lock.start()
    try:
        socket = lock.state_dir / SOCKET_NAME
        # Through a relay the QR text names the lock (the 11 digits alone do not).
        code = (await admin_call(socket, AdminRequest(AdminCommand.SETUP_CODE)))["qr"]
        pin = SetupCode.parse(code).pin
        assert pin is not None
        lock_id = pin.lock_id.hex()
        broker.add_controller("cli", "cli password", [lock_id])
        await admin_call(socket, AdminRequest(AdminCommand.PRESS_BUTTON))
        profile = tmp_path / "me.json"
        paired = await run_async(
            "client",
            "--profile",
            str(profile),
            "pair",
            code,
            "--lan",
            _lan(lock),
            "--broker",
            f"mqtts://127.0.0.1:{broker.controller_port}",
            "--broker-ca",
            str(broker.ca_file),
            "--username",
            "cli",
            "--password",
            "cli password",
        )
        assert paired.returncode == 0, paired.stderr
        data = json.loads(profile.read_text(encoding="utf-8"))
        assert data["connection"]["broker_url"].endswith(f":{broker.controller_port}")
        # The LAN path goes away (another address); the broker still reaches the lock.
        data["connection"]["lan_url"] = f"ws://127.0.0.1:{free_port()}/securelock/v1"
        profile.write_text(json.dumps(data), encoding="utf-8")
        status = await run_async("client", "--profile", str(profile), "status")
        assert status.returncode == 0, status.stderr
        assert status.stdout.strip().endswith("ok: lock is locked")
    finally:
        lock.kill()


async def test_typed_digits_pair_through_the_relay(
    tmp_path: Path, broker: MosquittoBroker, ca: DevCertificateAuthority
) -> None:
    """`pair DIGITS --broker ...`: the relay finds the lock in pairing mode; none, one line."""
    ca.save(tmp_path / "factory")
    lock = LockProcess(
        tmp_path / "lock",
        free_port(),
        (
            "--broker",
            f"mqtts://127.0.0.1:{broker.lock_port}",
            "--broker-ca",
            str(broker.ca_file),
            "--factory-ca",
            str(tmp_path / "factory"),
        ),
    )
    await lock.start()
    try:
        socket = lock.state_dir / SOCKET_NAME
        answer = await admin_call(socket, AdminRequest(AdminCommand.SETUP_CODE))
        pin = SetupCode.parse(answer["qr"]).pin
        assert pin is not None
        broker.add_controller("cli-1", "cli password", [pin.lock_id.hex()])
        relay = (
            "--broker",
            f"mqtts://127.0.0.1:{broker.controller_port}",
            "--broker-ca",
            str(broker.ca_file),
            "--username",
            "cli-1",
            "--password",
            "cli password",
        )
        profile = str(tmp_path / "me.json")
        assert_one_line_error(
            await run_async(
                "client", "--profile", profile, "pair", answer["code"], *relay
            ),
            "No lock answered through the relay",
        )
        await admin_call(socket, AdminRequest(AdminCommand.PRESS_BUTTON))
        paired = await run_async(
            "client", "--profile", profile, "pair", answer["code"], *relay
        )
        assert paired.returncode == 0, paired.stderr
        assert f"paired with lock {pin.lock_id.hex()} as admin" in paired.stdout
        status = await run_async("client", "--profile", profile, "status")
        assert status.returncode == 0, status.stderr
    finally:
        lock.kill()


def test_a_lock_that_names_the_wrong_recipient_reads_as_in_home_assistant() -> None:
    """`wrong_recipient` from a lock is the config flow's sentence, not the code."""
    text = describe(PairingFailed(ErrorCode.WRONG_RECIPIENT))
    assert text == "This setup code belongs to a different lock."
