"""The guard the Home Assistant processes run under refuses and records other addresses."""

from __future__ import annotations

import os
from pathlib import Path
import subprocess
import sys

from .hass_process import NETWORK_GUARD

PROBE = """
import socket

def attempt(what, call):
    try:
        call()
    except OSError as err:
        print(what, "refused", type(err).__name__)
    else:
        print(what, "allowed")

with socket.socket() as server:
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    attempt("loopback", lambda: socket.create_connection(("127.0.0.1", port)).close())
    attempt("localhost", lambda: socket.getaddrinfo("localhost", port))
with socket.socket() as tcp:
    attempt("tcp", lambda: tcp.connect(("192.0.2.1", 9)))
attempt("name", lambda: socket.getaddrinfo("example.com", 443))
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
    attempt("udp-sendto", lambda: udp.sendto(b"x", ("192.0.2.1", 9)))
    udp.connect(("192.0.2.1", 9))
    attempt("udp-send", lambda: udp.send(b"x"))
"""


def test_guard_refuses_everything_but_loopback(tmp_path: Path) -> None:
    """Run a probe under the guard: loopback works, the rest is refused and logged."""
    log = tmp_path / "guard.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(NETWORK_GUARD),
        "SECURE_LOCK_E2E_GUARD_LOG": str(log),
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.splitlines() == [
        "loopback allowed",
        "localhost allowed",
        "tcp refused ConnectionRefusedError",
        "name refused gaierror",
        "udp-sendto refused ConnectionRefusedError",
        "udp-send refused ConnectionRefusedError",
    ], result.stderr
    assert log.read_text(encoding="utf-8").splitlines() == [
        "connect ('192.0.2.1', 9)",
        "getaddrinfo 'example.com'",
        "sendto ('192.0.2.1', 9)",
        "send ('192.0.2.1', 9)",
    ]
