"""What one customer of the relay may cost the broker: Mosquitto's limits.

The relay is shared: every lock and every controller is a customer of the
same broker, and none of them is trusted.  These limits keep one customer,
even one holding a legitimate certificate or account, from growing the
broker's memory or keeping state there that the protocol never needs:

* no retained messages and no retained wills (the protocol sends neither;
  Mosquitto disconnects a client that publishes with the retain flag and
  refuses a CONNECT whose will is retained);
* sessions end at the latest an hour after their client left, whatever
  session expiry the client asks for (the protocol uses clean sessions);
* per-client queues bounded in messages and in bytes, so a persistent
  session that is never collected holds at most ``queued_bytes``;
* no MQTT packet larger than a frame plus its PUBLISH header;
* a cap on the connections each listener serves.

The numbers are written into ``mosquitto.conf`` by ``device_sim.broker``
and quoted in docs/transport.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from custom_components.secure_lock.transport.link import DEFAULT_MAX_FRAME_SIZE

# A PUBLISH of one frame is the frame plus: fixed header (1) and remaining
# length (at most 4), topic length (2) and topic (the longest: "securelock/v1/"
# + 32 hex + "/up/" + 32 hex routing id: 82), packet id (2), property length
# (1) and the message expiry property (5): 97 bytes.  256 leaves room for a
# longer topic prefix or one more property; CONNECT (user name, password) and
# SUBSCRIBE are smaller.
PUBLISH_HEADROOM = 256
MAX_PACKET_SIZE = DEFAULT_MAX_FRAME_SIZE + PUBLISH_HEADROOM
"""The largest MQTT packet the broker accepts from any client.

Every link (``transport.link.DEFAULT_MAX_FRAME_SIZE``, 4096 bytes) drops a
larger frame anyway; the largest frame the protocol sends is one envelope of
the hybrid suite (3,001 bytes) plus its channel byte.
"""

# The controller's firmware transfer sends windows of 16 frames; a queue of
# four windows is never the bottleneck of a legitimate client.
QUEUED_FRAMES = 64
# Mosquitto's default; in-flight QoS 1 messages are held besides the queue.
INFLIGHT_FRAMES = 20
# The smallest duration persistent_client_expiration takes in Mosquitto 2.0
# (it caps MQTT 5 session expiry intervals as well).
SESSION_EXPIRY_HOURS = 1
# Enough for bench/load.py's 2,000 locks with their 2,000 controllers on
# the other listener.
CONNECTIONS_PER_LISTENER = 4096


@dataclass(frozen=True, slots=True)
class BrokerLimits:
    """The per-client limits of one broker."""

    max_packet_size: int = MAX_PACKET_SIZE
    queued_frames: int = QUEUED_FRAMES
    inflight_frames: int = INFLIGHT_FRAMES
    session_expiry_hours: int = SESSION_EXPIRY_HOURS
    connections_per_listener: int = CONNECTIONS_PER_LISTENER

    def __post_init__(self) -> None:
        """Refuse zero, which Mosquitto reads as "no limit"."""
        if (
            min(
                self.max_packet_size,
                self.queued_frames,
                self.inflight_frames,
                self.session_expiry_hours,
                self.connections_per_listener,
            )
            < 1
        ):
            raise ValueError("every broker limit must be positive")

    @property
    def queued_bytes(self) -> int:
        """Return the byte bound of one client's queue."""
        return self.queued_frames * self.max_packet_size

    @property
    def inflight_bytes(self) -> int:
        """Return the byte bound of one client's in-flight messages."""
        return self.inflight_frames * self.max_packet_size

    @property
    def held_per_client(self) -> int:
        """Return the most message bytes the broker holds for one client."""
        return self.queued_bytes + self.inflight_bytes

    def global_lines(self) -> list[str]:
        """Return the configuration lines that apply to every listener."""
        return [
            "retain_available false",
            f"persistent_client_expiration {self.session_expiry_hours}h",
            f"max_packet_size {self.max_packet_size}",
            f"max_queued_messages {self.queued_frames}",
            f"max_queued_bytes {self.queued_bytes}",
            "queue_qos0_messages false",
            f"max_inflight_messages {self.inflight_frames}",
            f"max_inflight_bytes {self.inflight_bytes}",
        ]

    def listener_lines(self) -> list[str]:
        """Return the configuration lines repeated under each listener."""
        return [f"max_connections {self.connections_per_listener}"]
