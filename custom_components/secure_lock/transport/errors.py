"""Typed transport errors: callers catch these, never library exceptions."""

from __future__ import annotations

from ..protocol.errors import SecureLockError


class TransportError(SecureLockError):
    """Base class of every error a transport raises."""


class NotConnected(TransportError):
    """The link is not connected right now; the frame was not sent."""


class DeliveryUnknown(TransportError):
    """The frame went to the broker, but its acknowledgement never came.

    The connection dropped, or the broker stayed silent, after the frame was
    handed to it: it may have reached the lock.  Not a ``NotConnected``: a
    caller must wait for the answer (or time out), never send it again as
    if it had not left.
    """


class LinkClosed(TransportError):
    """The link was closed by its owner and cannot be used again."""


class FrameTooLarge(TransportError):
    """A frame exceeds the link's maximum frame size; nothing was sent."""


class TlsFailure(TransportError):
    """TLS failed: untrusted chain, wrong host name, or a rejected client certificate."""


class BrokerRefused(TransportError):
    """The broker refused the connection (bad credentials, not authorized)."""


class SubscribeRejected(TransportError):
    """The broker refused a subscription (the ACL does not grant the topic)."""


class PublishRejected(TransportError):
    """The broker refused a publish (the ACL does not grant the topic)."""
