"""Tests may reach only this machine: the guard refuses any other address."""

from __future__ import annotations

from pathlib import Path
import socket
from typing import Any

import pytest
import pytest_socket


@pytest.mark.filterwarnings("ignore:A test tried to use socket.socket.connect")
def test_other_addresses_are_refused_before_any_packet(
    monkeypatch: pytest.MonkeyPatch, socket_enabled: None
) -> None:
    """A connect to a non-loopback address fails inside the harness, before the kernel sees it."""
    reached_kernel: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        pytest_socket, "_true_connect", lambda _sock, *args: reached_kernel.append(args)
    )
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(pytest_socket.SocketConnectBlockedError),
    ):
        sock.connect(("192.0.2.1", 9))
    assert reached_kernel == []


def test_loopback_and_unix_sockets_are_allowed(
    tmp_path: Path, socket_enabled: None
) -> None:
    """Loopback TCP and Unix sockets connect (the simulator and broker use them)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
    path = str(tmp_path / "s.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(path)
