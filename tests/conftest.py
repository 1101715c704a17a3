"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path
import socket

import pytest
import pytest_socket

# Registers the integration's Home-Assistant-free packages (protocol,
# transport) under their canonical names before any test imports them.
import device_sim  # noqa: F401

REPO_ROOT = Path(__file__).resolve().parent.parent
INTEGRATION_DIR = REPO_ROOT / "custom_components" / "secure_lock"


@pytest.hookimpl(trylast=True)
def pytest_runtest_setup() -> None:
    """Keep the harness's loopback-only network rule, but let Unix sockets connect.

    pytest-homeassistant-custom-component allows only 127.0.0.1 and checks
    every connect() against that list, which also refuses Unix sockets (they
    have no host).  The simulator's admin channel is a Unix socket, so the
    same rule is installed again with Unix sockets allowed; any other address
    still fails the test.
    """
    # socket_allow_hosts patches `socket.socket.connect`; aim it at the real
    # class, which the harness's guarded subclass and `socket_enabled` share.
    guarded = socket.socket
    socket.socket = pytest_socket._true_socket  # type: ignore[misc]
    try:
        pytest_socket.socket_allow_hosts(["127.0.0.1"], allow_unix_socket=True)
    finally:
        socket.socket = guarded  # type: ignore[misc]


@pytest.fixture(name="integration_dir")
def integration_dir_fixture() -> Path:
    """Return the integration's folder."""
    return INTEGRATION_DIR
