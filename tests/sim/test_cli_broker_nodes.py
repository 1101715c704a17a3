"""The command line with several broker nodes: `--broker` repeated, or URLs between commas."""

from __future__ import annotations

import json
from pathlib import Path

from custom_components.secure_lock.protocol import SetupCode
from device_sim.admin import SOCKET_NAME, AdminCommand, AdminRequest, admin_call
from device_sim.broker import MosquittoBroker
from device_sim.crash_test import LockProcess
from device_sim.pki import DevCertificateAuthority
from device_sim.ports import free_port
from tests.conftest import foreign_code

from .test_cli_errors import run_async


async def test_lock_and_client_pass_a_dead_first_node(
    tmp_path: Path, broker: MosquittoBroker, ca: DevCertificateAuthority
) -> None:
    """Nothing listens on the first node given: lock and client both use the second."""
    ca.save(tmp_path / "factory")
    dead = free_port()
    lock = LockProcess(
        tmp_path / "lock",
        free_port(),
        (
            "--broker",
            f"mqtts://127.0.0.1:{dead},mqtts://127.0.0.1:{broker.lock_port}",
            "--broker-ca",
            str(broker.ca_file),
            "--factory-ca",
            str(tmp_path / "factory"),
        ),
    )
    await lock.start()
    try:
        socket = lock.state_dir / SOCKET_NAME
        code = (await admin_call(socket, AdminRequest(AdminCommand.SETUP_CODE)))["qr"]
        pin = SetupCode.parse(code).pin
        assert pin is not None
        broker.add_controller("cli", "cli password", [pin.lock_id.hex()])
        await admin_call(socket, AdminRequest(AdminCommand.PRESS_BUTTON))
        profile = tmp_path / "me.json"
        nodes = (
            f"mqtts://127.0.0.1:{dead}",
            f"mqtts://127.0.0.1:{broker.controller_port}",
        )
        paired = await run_async(
            "client",
            "--profile",
            str(profile),
            "pair",
            code,
            "--broker",
            nodes[0],
            "--broker",
            nodes[1],
            "--broker-ca",
            str(broker.ca_file),
            "--username",
            "cli",
            "--password",
            "cli password",
        )
        assert paired.returncode == 0, paired.stderr
        data = json.loads(profile.read_text(encoding="utf-8"))
        # Stored as Home Assistant stores several URLs: between commas.
        assert data["connection"]["broker_url"] == ", ".join(nodes)
        status = await run_async("client", "--profile", str(profile), "status")
        assert status.returncode == 0, status.stderr
        assert status.stdout.strip().endswith("ok: lock is locked")
    finally:
        lock.kill()


async def test_every_node_down_is_one_line_naming_each(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    """No node answers: one `error:` line that names every node tried."""
    first, second = free_port(), free_port()
    result = await run_async(
        "client",
        "--profile",
        str(tmp_path / "me.json"),
        "pair",
        foreign_code().manual_code(),
        "--broker",
        f"mqtts://127.0.0.1:{first}, mqtts://127.0.0.1:{second}",
        "--broker-ca",
        str(broker.ca_file),
        "--username",
        "cli",
        "--password",
        "cli password",
    )
    assert result.returncode == 1, result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert f"127.0.0.1:{first}" in lines[0]
    assert f"127.0.0.1:{second}" in lines[0]
    assert "cli password" not in result.stderr
