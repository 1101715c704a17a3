"""What one customer may cost a RabbitMQ relay: Mosquitto's limits in RabbitMQ's terms.

The numbers are :class:`device_sim.broker_limits.BrokerLimits`, so both
relays hold a customer to the same bounds (docs/transport.md, "Limits per
customer"):

* connections per account: a user limit (``max-connections``) on every lock
  and controller account.  Mosquitto keeps an account to one connection by
  taking the client id from the user name, so a new connection pushes the
  old one off.  RabbitMQ cannot do that (client ids are random per
  connection) and refuses a connection over the limit instead; with a limit
  of one, a client whose last connection went dead without a word would be
  refused until RabbitMQ noticed (one and a half keepalives, 45 s for the
  links), so the limit leaves room for that one reconnect;
* messages held per session: a policy on the MQTT plugin's session queues
  (``mqtt-subscription-<client id>qos<n>``) with Mosquitto's
  ``max_queued_messages`` and ``max_queued_bytes``.  On overflow the oldest
  message is dropped: rejecting the publish instead would fail the sender,
  another customer, for a queue it does not own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .broker_limits import BrokerLimits

CONNECTIONS_PER_ACCOUNT = 2
"""One connection, and one more while a dead predecessor is not yet noticed."""
SESSION_QUEUE_POLICY = "session-queue-bounds"
OVERFLOW = "drop-head"


@dataclass(frozen=True, slots=True)
class AccountLimits:
    """The per-account limits of a RabbitMQ relay."""

    connections: int = CONNECTIONS_PER_ACCOUNT
    broker: BrokerLimits = field(default_factory=BrokerLimits)

    def __post_init__(self) -> None:
        """Refuse zero, which RabbitMQ reads as "no connections at all"."""
        if self.connections < 1:
            raise ValueError("an account needs at least one connection")

    def user_limits(self) -> dict[str, int]:
        """Return the user limits of one lock or controller account."""
        return {"max-connections": self.connections}

    def session_queue_policy(self, vhost: str, queues: str) -> dict[str, object]:
        """Return the policy bounding the session queues matched by ``queues`` in ``vhost``."""
        return {
            "vhost": vhost,
            "name": SESSION_QUEUE_POLICY,
            "pattern": queues,
            "apply-to": "queues",
            "priority": 0,
            "definition": {
                "max-length": self.broker.queued_frames,
                "max-length-bytes": self.broker.queued_bytes,
                "overflow": OVERFLOW,
            },
        }
