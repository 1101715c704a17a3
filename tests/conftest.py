"""Fixtures shared by more than one test package."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
import secrets
import shutil
import socket

from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event
import pytest
import pytest_socket

# Registers the integration's Home-Assistant-free packages (protocol,
# transport) under their canonical names before any test imports them.
import device_sim  # noqa: F401

# isort: split

from custom_components.secure_lock.protocol.setup_code import (
    PASSCODE_BITS,
    CodeSecret,
    LockPin,
    SetupCode,
)
from custom_components.secure_lock.protocol.spake2plus import ProverSecret
from device_sim.broker import MOSQUITTO, MosquittoBroker
from device_sim.pki import DevCertificateAuthority

REPO_ROOT = Path(__file__).resolve().parent.parent
INTEGRATION_DIR = REPO_ROOT / "custom_components" / "secure_lock"
LOCK_ENTITY = "lock.front_door"
"""The lock entity of the simulated lock paired into Home Assistant."""


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


@pytest.fixture(scope="session")
def ca() -> DevCertificateAuthority:
    """Return one dev manufacturer CA for the whole run (Ed25519 keys are cheap)."""
    return DevCertificateAuthority.create()


@pytest.fixture
def broker(tmp_path: Path, ca: DevCertificateAuthority) -> Iterator[MosquittoBroker]:
    """Run Mosquitto with TLS on free local ports for one test; stop it afterwards."""
    if shutil.which(MOSQUITTO) is None:
        # scripts/setup installs it; a missing broker must fail, not skip.
        pytest.fail("mosquitto is not installed: run scripts/setup")
    instance = MosquittoBroker.with_dev_pki(tmp_path / "broker", ca)
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(name="recorded")
def recorded_fixture(hass: HomeAssistant) -> list[str]:
    """Return every state the lock entity takes, in order."""
    states: list[str] = []

    @callback
    def _record(event: Event[EventStateChangedData]) -> None:
        if (new := event.data["new_state"]) is not None:
            states.append(new.state)

    async_track_state_change_event(hass, [LOCK_ENTITY], _record)
    return states


def code_secret(discriminator: int, seed: int = 1) -> CodeSecret:
    """Return a fixed ``w0, w1`` for a code (no scrypt: for tests of bookkeeping only)."""
    scalar = bytes([seed]) * 16 + bytes(16)
    return CodeSecret(
        discriminator, ProverSecret(scalar, scalar[::-1][16:] + bytes(16))
    )


def wrong_code(code: SetupCode) -> SetupCode:
    """Return the same lock and discriminator with another passcode: a wrong guess."""
    return replace(code, passcode=code.passcode % (2**PASSCODE_BITS - 1) + 1)


def foreign_code() -> SetupCode:
    """Return a valid code for a lock that does not exist (another lock's label)."""
    return SetupCode.generate(LockPin(secrets.token_bytes(16), secrets.token_bytes(16)))
