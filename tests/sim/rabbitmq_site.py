"""One test's locks and controllers on a RabbitMQ relay shared by its module.

The relay (one node, seconds to boot) is started once per module by the
``relay`` fixture in conftest.py; each test makes its own lock ids and
accounts through a :class:`Site`, whose connections are closed after it.
"""

from __future__ import annotations

from pathlib import Path

from device_sim.pki import CertFiles, DevCertificateAuthority, write_issued
from device_sim.rabbitmq import RabbitMqCluster

from .rabbitmq_client import RabbitCustomer

PASSWORD = "correct horse battery"


class Site:
    """Locks and controllers of one test on the shared relay."""

    def __init__(
        self,
        relay: RabbitMqCluster,
        ca: DevCertificateAuthority,
        directory: Path,
        clients: list[RabbitCustomer],
    ) -> None:
        """Remember where to put certificates and connections."""
        self.relay = relay
        self.ca = ca
        self.directory = directory
        self.clients = clients

    def device(self, lock_id: bytes) -> CertFiles:
        """Issue a lock certificate and create the lock's account."""
        files = write_issued(
            self.ca.issue_lock(lock_id), self.directory / lock_id.hex(), "lock"
        )
        self.relay.add_locks([lock_id])
        return files

    def lock(self, lock_id: bytes) -> RabbitCustomer:
        """Return a connected lock."""
        client = RabbitCustomer.lock_on(self.relay, self.device(lock_id))
        self.clients.append(client)
        assert not client.connect().is_failure
        return client

    def controller(self, username: str, *locks: bytes) -> RabbitCustomer:
        """Create an account granted ``locks``; return it connected."""
        self.relay.add_controller(username, PASSWORD, [i.hex() for i in locks])
        return self.connect_as(username, PASSWORD)

    def connect_as(self, username: str | None, password: str | None) -> RabbitCustomer:
        """Return a password connection (connected or refused: check ``connected``)."""
        client = RabbitCustomer.controller_on(self.relay, username, password)
        self.clients.append(client)
        client.connect()
        return client
