"""Secure Lock transports: move opaque, end-to-end encrypted frames.

This package never imports Home Assistant: the simulator uses it too (see
device_sim/protocol_loader.py).  A transport only carries frames; it neither
understands nor trusts them.  Confidentiality and authenticity come from the
protocol layer, TLS here protects metadata and access to the relay.
"""

from .backoff import Backoff
from .errors import (
    BrokerRefused,
    DeliveryUnknown,
    FrameTooLarge,
    LinkClosed,
    NotConnected,
    PublishRejected,
    SubscribeRejected,
    TlsFailure,
    TransportError,
)
from .link import FrameLink, LinkStats
from .mqtt import BrokerEndpoint, MqttFrameLink, MqttLinkConfig, MqttRole
from .rate_limit import TokenBucket
from .tls import client_tls_context
from .topics import DiscoveryTopics, LockTopics, topic_id
from .ws import WebSocketFrameLink
from .ws_server import LanFrameServer

__all__ = [
    "Backoff",
    "BrokerEndpoint",
    "BrokerRefused",
    "FrameLink",
    "FrameTooLarge",
    "LanFrameServer",
    "LinkClosed",
    "LinkStats",
    "DiscoveryTopics",
    "LockTopics",
    "MqttFrameLink",
    "MqttLinkConfig",
    "MqttRole",
    "DeliveryUnknown",
    "NotConnected",
    "PublishRejected",
    "SubscribeRejected",
    "TlsFailure",
    "TokenBucket",
    "TransportError",
    "WebSocketFrameLink",
    "client_tls_context",
    "topic_id",
]
