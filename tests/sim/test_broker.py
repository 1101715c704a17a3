"""The broker launcher: configuration, lifecycle and accounts."""

from __future__ import annotations

import os
from pathlib import Path
import socket
import time

import pytest

from device_sim.broker import BrokerError, MosquittoBroker, main
from device_sim.passwords import InvalidUsername
from device_sim.pki import DevCertificateAuthority
from device_sim.ports import free_port, free_ports

from .conftest import CONTROLLER_PASSWORD, LOCK_A


def test_starts_on_free_ports_and_stops_cleanly(
    tmp_path: Path, ca: DevCertificateAuthority
) -> None:
    """Start, check both ports are distinct and live, stop, and leave no zombie."""
    broker = MosquittoBroker.with_dev_pki(tmp_path, ca)
    with broker:
        assert broker.running
        assert broker.host == "127.0.0.1"
        assert broker.lock_port != broker.controller_port
        pid = broker.pid
        assert pid is not None
        # Mosquitto says "running" just after it opens its sockets; on a busy
        # machine that line can come after our connect checks.
        deadline = time.monotonic() + 5
        while "running" not in broker.log_path.read_text():
            assert time.monotonic() < deadline, broker.log_path.read_text()
            time.sleep(0.01)
    assert not broker.running
    # Reaped: the pid is no longer our child, and no process has it.
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert "running" in broker.log_path.read_text()
    assert broker.stop() is None


def test_config_is_locked_down(broker: MosquittoBroker) -> None:
    """TLS 1.3 everywhere, no anonymous access, no plaintext listener, no persistence."""
    config = broker.config_path.read_text()
    lines = config.splitlines()
    listeners = [line for line in lines if line.startswith("listener ")]
    assert len(listeners) == 2
    assert all(line.endswith(" 127.0.0.1") for line in listeners)
    assert lines.count("tls_version tlsv1.3") == 2
    assert lines.count("allow_anonymous false") == 2
    assert "allow_anonymous true" not in config
    assert "require_certificate true" in lines
    assert "use_identity_as_username true" in lines
    assert "set_tcp_nodelay true" in lines
    assert "persistence false" in lines
    assert "per_listener_settings true" in lines


def test_password_file_holds_no_plaintext(broker: MosquittoBroker) -> None:
    """Controller passwords are stored as PBKDF2 hashes only."""
    broker.add_controller("controller1", CONTROLLER_PASSWORD, [LOCK_A.hex()])
    passwd = (broker.directory / "passwd").read_bytes()
    assert passwd.startswith(b"controller1:$7$101$")
    assert CONTROLLER_PASSWORD.encode() not in passwd
    acl = (broker.directory / "acl_controllers").read_text()
    assert f"topic read securelock/v1/{LOCK_A.hex()}/up/+" in acl
    assert f"topic write securelock/v1/{LOCK_A.hex()}/down" in acl
    broker.remove_controller("controller1")
    assert (broker.directory / "passwd").read_bytes() == b""


def test_invalid_accounts_change_nothing(broker: MosquittoBroker) -> None:
    """A username or topic id that could inject ACL syntax is refused up front."""
    before = (broker.directory / "acl_controllers").read_bytes()
    with pytest.raises(InvalidUsername):
        broker.add_controller("evil\ntopic readwrite #", "pw", [LOCK_A.hex()])
    with pytest.raises(BrokerError):
        broker.add_controller("controller1", "pw", ["#"])
    assert (broker.directory / "acl_controllers").read_bytes() == before


def test_start_failure_is_reported(tmp_path: Path, ca: DevCertificateAuthority) -> None:
    """A port already taken makes start() raise BrokerError, not hang."""
    first = MosquittoBroker.with_dev_pki(tmp_path / "one", ca)
    with first:
        second = MosquittoBroker.with_dev_pki(
            tmp_path / "two", ca, lock_port=first.lock_port, controller_port=free_port()
        )
        with pytest.raises(BrokerError):
            second.start(timeout=5.0)
        assert not second.running


def test_a_chosen_port_taken_before_mosquitto_binds_it_is_chosen_again(
    tmp_path: Path, ca: DevCertificateAuthority, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process binding a chosen port first costs a retry, not the start."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        choices = iter([(taken, free_port()), free_ports(2)])
        monkeypatch.setattr(
            "device_sim.broker.free_ports", lambda _count: next(choices)
        )
        broker = MosquittoBroker.with_dev_pki(tmp_path, ca)
        with broker:
            assert broker.running
            assert taken not in (broker.lock_port, broker.controller_port)
        assert next(choices, None) is None


def test_free_ports_are_distinct() -> None:
    """Ports chosen together never repeat, even when many are asked for."""
    ports = free_ports(64)
    assert len(set(ports)) == 64
    # Outside the range the kernel uses for outgoing connections.
    assert all(20_000 <= port < 32_768 for port in ports)
    with pytest.raises(ValueError, match="at least 1"):
        free_ports(0)


async def test_async_context_manager(
    tmp_path: Path, ca: DevCertificateAuthority
) -> None:
    """The async variant starts and stops without blocking the loop."""
    async with MosquittoBroker.with_dev_pki(tmp_path, ca) as broker:
        assert broker.running
    assert not broker.running


def test_cli_rejects_bad_controller_without_starting(tmp_path: Path) -> None:
    """The developer entry point reports bad input with exit status 1."""
    assert main([str(tmp_path), "--controller", "bad name=" + LOCK_A.hex()]) == 1
    assert main([str(tmp_path), "--controller", "ok=not-hex"]) == 1
    assert not (tmp_path / "mosquitto.log").exists()


def test_bulk_add_checks_every_account_first(broker: MosquittoBroker) -> None:
    """One bad account in a bulk add changes nothing; a good batch is one write."""
    before = (broker.directory / "acl_controllers").read_bytes()
    good = ("bulk1", "pw1", [LOCK_A.hex()])
    with pytest.raises(BrokerError):
        broker.add_controllers([good, ("bulk2", "pw2", ["#"])])
    assert (broker.directory / "acl_controllers").read_bytes() == before
    broker.add_controllers([good, ("bulk2", "pw2", [LOCK_A.hex()])])
    acl = (broker.directory / "acl_controllers").read_text()
    assert "user bulk1" in acl
    assert "user bulk2" in acl
