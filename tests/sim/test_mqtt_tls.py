"""TLS and authentication failures are refused with typed errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from pathlib import Path
import socket
import ssl
import struct

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
import pytest

from custom_components.secure_lock.transport import (
    BrokerRefused,
    LinkClosed,
    LockTopics,
    MqttFrameLink,
    MqttLinkConfig,
    MqttRole,
    NotConnected,
    TlsFailure,
    TransportError,
    client_tls_context,
)
from device_sim.broker import MosquittoBroker
from device_sim.pki import DevCertificateAuthority, write_issued

from .conftest import LOCK_A, LinkFactory


@pytest.fixture
def foreign_ca_file(tmp_path: Path) -> Path:
    """Return the certificate of a CA the broker does not know."""
    path = tmp_path / "foreign-ca.crt"
    path.write_bytes(DevCertificateAuthority.create("Foreign Root").cert_pem)
    return path


async def test_client_not_trusting_dev_ca_fails(
    links: LinkFactory, foreign_ca_file: Path
) -> None:
    """A controller that trusts another CA refuses the broker's certificate."""
    link = links.controller(LOCK_A, ca_file=foreign_ca_file)
    with pytest.raises(TlsFailure, match="certificate"):
        await link.connect()
    assert not link.connected


async def test_wrong_hostname_fails(links: LinkFactory) -> None:
    """The broker certificate names localhost/127.0.0.1; another name is refused."""
    link = links.lock(LOCK_A, server_name="broker.invalid")
    with pytest.raises(TlsFailure, match="certificate"):
        await link.connect()


async def test_ip_address_name_matches_san(links: LinkFactory) -> None:
    """Dialling by IP verifies against the IP SAN."""
    link = links.lock(LOCK_A, server_name="127.0.0.1")
    await link.connect()
    assert link.connected


async def test_anonymous_controller_refused(links: LinkFactory) -> None:
    """No username, no connection: there is no anonymous access."""
    link = links.controller(LOCK_A, password=None)
    with pytest.raises(BrokerRefused):
        await link.connect()


async def test_wrong_password_refused(
    links: LinkFactory, broker: MosquittoBroker
) -> None:
    """A known user with the wrong password is refused."""
    broker.add_controller("controller1", "the real password", [LOCK_A.hex()])
    link = links.controller(LOCK_A, password="a guess")
    with pytest.raises(BrokerRefused):
        await link.connect()


async def test_lock_port_requires_client_certificate(
    broker: MosquittoBroker,
) -> None:
    """Without a client certificate the lock listener ends the TLS session."""
    config = MqttLinkConfig(
        role=MqttRole.LOCK,
        topics=LockTopics.for_lock(LOCK_A),
        port=broker.lock_port,
        tls=client_tls_context(broker.ca_file),
        address="127.0.0.1",
        connect_timeout=5.0,
    )
    link = MqttFrameLink(config)
    try:
        with pytest.raises(TransportError) as caught:
            await link.connect()
        assert isinstance(caught.value, (TlsFailure, NotConnected, BrokerRefused))
    finally:
        await link.close()


async def test_lock_certificate_from_foreign_ca_refused(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    """A lock certificate from another manufacturer is not accepted."""
    foreign = DevCertificateAuthority.create("Foreign Root")
    files = write_issued(foreign.issue_lock(LOCK_A), tmp_path, "foreign-lock")
    config = MqttLinkConfig(
        role=MqttRole.LOCK,
        topics=LockTopics.for_lock(LOCK_A),
        port=broker.lock_port,
        tls=client_tls_context(broker.ca_file, files.cert, files.key),
        address="127.0.0.1",
        connect_timeout=5.0,
    )
    link = MqttFrameLink(config)
    try:
        with pytest.raises(TransportError):
            await link.connect()
        assert not link.connected
    finally:
        await link.close()


def test_config_refuses_non_verifying_context(broker: MosquittoBroker) -> None:
    """There is no insecure mode: a context without hostname checks is rejected."""
    context = client_tls_context(broker.ca_file)
    context.check_hostname = False
    with pytest.raises(ValueError, match="verify"):
        MqttLinkConfig(
            role=MqttRole.CONTROLLER,
            topics=LockTopics.for_lock(LOCK_A),
            port=broker.controller_port,
            tls=context,
        )
    assert client_tls_context(broker.ca_file).minimum_version is ssl.TLSVersion.TLSv1_3


async def test_unreachable_broker_is_not_connected(broker: MosquittoBroker) -> None:
    """A port nobody listens on gives NotConnected, not an OSError."""
    port = broker.lock_port
    broker.stop()
    config = MqttLinkConfig(
        role=MqttRole.CONTROLLER,
        topics=LockTopics.for_lock(LOCK_A),
        port=port,
        tls=client_tls_context(broker.ca_file),
        address="127.0.0.1",
        username="u",
        password="p",
    )
    link = MqttFrameLink(config)
    with pytest.raises(NotConnected):
        await link.connect()
    await link.close()


async def test_ed25519_over_tls13_with_mosquitto(links: LinkFactory) -> None:
    """Mosquitto accepts our Ed25519 client certificate and serves an Ed25519 one, over TLS 1.3."""
    lock = links.lock(LOCK_A)
    await lock.connect()
    sock = lock._sock
    assert isinstance(sock, ssl.SSLSocket)
    assert sock.version() == "TLSv1.3"
    peer = x509.load_der_x509_certificate(sock.getpeercert(binary_form=True) or b"")
    assert isinstance(peer.public_key(), Ed25519PublicKey)


@contextlib.asynccontextmanager
async def _fake_broker(
    answer: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[int]:
    """Listen on 127.0.0.1; each connection is handed to ``answer``, then closed."""

    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await answer(reader, writer)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def _config(broker: MosquittoBroker, port: int) -> MqttLinkConfig:
    return MqttLinkConfig(
        role=MqttRole.CONTROLLER,
        topics=LockTopics.for_lock(LOCK_A),
        port=port,
        tls=client_tls_context(broker.ca_file),
        address="127.0.0.1",
        username="u",
        password="p",
    )


async def test_peer_that_does_not_speak_tls_is_a_tls_failure(
    broker: MosquittoBroker,
) -> None:
    """Plain text on the port fails the handshake as TlsFailure and closes the socket."""
    client_closed = asyncio.Event()

    async def garbage(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        # Answer the ClientHello, then wait for the client to give up: closing
        # with its bytes unread would reset the connection instead, which is
        # the next test's case.
        await reader.read(1)
        writer.write(b"HTTP/1.0 400 Bad Request\r\n\r\n" * 4)
        await writer.drain()
        # The client leaves the rest of the answer unread, so its close may
        # arrive as a reset rather than an end of stream.
        async with asyncio.timeout(10):
            with contextlib.suppress(ConnectionResetError):
                while await reader.read(65536):
                    pass
        client_closed.set()

    async with _fake_broker(garbage) as port:
        link = MqttFrameLink(_config(broker, port))
        with pytest.raises(TlsFailure, match="handshake failed"):
            await link.connect()
        assert not link.connected
        async with asyncio.timeout(10):
            await client_closed.wait()
        await link.close()


async def test_peer_resetting_the_handshake_is_not_connected(
    broker: MosquittoBroker,
) -> None:
    """A connection reset during the handshake is NotConnected, not an OSError."""

    async def reset(
        _reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    async with _fake_broker(reset) as port:
        link = MqttFrameLink(_config(broker, port))
        with pytest.raises((NotConnected, TlsFailure)) as err:
            await link.connect()
        assert not link.connected
        await link.close()
    assert isinstance(err.value, NotConnected), err.value


async def test_config_and_state_mistakes(broker: MosquittoBroker) -> None:
    """A password without a user is refused; a closed link cannot connect again."""
    with pytest.raises(ValueError, match="needs a username"):
        MqttLinkConfig(
            role=MqttRole.CONTROLLER,
            topics=LockTopics.for_lock(LOCK_A),
            port=broker.controller_port,
            tls=client_tls_context(broker.ca_file),
            password="p",
        )
    link = MqttFrameLink(_config(broker, broker.controller_port))
    assert link.config.port == broker.controller_port
    await link.close()
    with pytest.raises(LinkClosed):
        await link.connect()
